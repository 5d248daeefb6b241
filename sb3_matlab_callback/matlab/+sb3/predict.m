function [action, state] = predict(policy, obs, varargin)
%PREDICT Compute the action SB3's predict() gives for an observation or a batch.
%
%   ACTION = sb3.predict(POLICY, OBS) runs the policy loaded by
%   sb3.load_policy on OBS and returns the deterministic action, exactly as
%   SB3's model.predict(obs, deterministic=True), post-processing included
%   (tanh squash and unscale, or clipping, or argmax).
%
%   OBS is one observation in the space's own shape (a row or column vector
%   for a 1-D Box, H-by-W-by-C for an image) or a batch stacked along the
%   first dimension (N-by-d, N-by-H-by-W-by-C). Discrete observations are
%   integer indices, one per row; MultiDiscrete and MultiBinary take one row
%   per observation; a Dict observation is a struct with one field per key.
%   Images are taken as the env gives them: H-by-W-by-C, or C-by-H-by-W for
%   an env that gives channel-first images; like SB3, the runtime accepts an
%   image in the other layout too.
%
%   ACTION is double with one row per observation: N-by-A for Box, the index
%   0..n-1 for Discrete, N-by-k for MultiDiscrete and MultiBinary.
%
%   [ACTION, STATE] = sb3.predict(POLICY, OBS, Name, Value, ...) options:
%     'Deterministic'  true (default) or false to sample from the policy.
%     'State'          recurrent hidden state ([] means zeros).
%     'EpisodeStart'   N-by-1 logical, resets the state where true.
%     'ActionMasks'    N-by-(total choices) logical (MaskablePPO only):
%                      false sets that choice's logit to -1e8, as sb3-contrib.
%
%   For a recurrent policy (RecurrentPPO) STATE is a struct with fields h and
%   c, each num_layers-by-N-by-hidden_size double, as SB3's (h, c); pass it
%   back with 'State' on the next call. For other policies STATE is the
%   'State' option, unchanged, as SB3 returns it.
%
%   Usage:
%     action = sb3.predict(policy, obs)
%     [action, state] = sb3.predict(policy, obs, 'State', state, 'EpisodeStart', starts)
%
%   Example:
%     policy = sb3.load_policy('policy.mat');
%     a = sb3.predict(policy, [0.1 -0.2 0.3]);
%     A = sb3.predict(policy, randn(100, 3));
%
%   Errors: sb3:predict:badObsSize, sb3:predict:badObsValue,
%   sb3:predict:missingKey, sb3:predict:badOption, sb3:predict:badState,
%   sb3:predict:badActionMasks.
%
%   See also sb3.load_policy, sb3.verify.

state = [];
if nargin == 2 && size(obs, 2) == policy.fast_d && ndims(obs) == 2 && isfloat(obs)
  action = policy.fast_fn(obs);
  return;
end
deterministic = true;
starts = [];
masks = [];
if nargin > 2
  opts = sb3.internal.parse_options(varargin);
  deterministic = opts.Deterministic;
  state = opts.State;
  starts = opts.EpisodeStart;
  masks = opts.ActionMasks;
  if ~isempty(masks) && ~policy.maskable
    error('sb3:predict:badOption', ...
          '''ActionMasks'' applies to MaskablePPO policies only; this is %s.', policy.algorithm);
  end
end

R = cell(1, policy.num_registers);
n = -1;
inputs = policy.inputs;
for i = 1:numel(inputs)
  in = inputs{i};
  if in.is_dict
    if ~isstruct(obs) || ~isfield(obs, in.key)
      error('sb3:predict:missingKey', ...
            'Observation must be a struct with field ''%s'' (a Dict observation).', in.key);
    end
    x = obs.(in.key);
  else
    x = obs;
  end
  sz = size(x);
  if in.spatial
    [x, ni] = sb3.internal.image_obs(x, in);
  elseif in.flat && numel(sz) == 2 && sz(2) == in.d
    ni = sz(1);
  elseif in.flat && numel(sz) == 2 && sz(1) == in.d && sz(2) == 1
    x = x.';
    ni = 1;
  else
    [x, ni] = sb3.internal.flatten_obs(x, in);
  end
  if n >= 0 && ni ~= n
    error('sb3:predict:badObsSize', ...
          'Dict observation key ''%s'' has %d rows but an earlier key has %d.', in.key, ni, n);
  end
  n = ni;
  x = double(x);
  if in.normalize
    x = min(max((x - in.mean) .* in.inv_std, -in.clip_obs), in.clip_obs);
  end
  if strcmp(in.kind, 'onehot')
    x = sb3.internal.one_hot(x, in);
  elseif in.scale ~= 1
    x = x / in.scale;
  end
  R{in.output} = cast(x, policy.precision);
end

if deterministic
  if ~isempty(policy.det_fn)
    action = policy.det_fn(R);
    return;
  end
  ops = policy.det_ops;
else
  ops = policy.sto_ops;
end
for k = 1:numel(ops)
  o = ops{k};
  x = R{o.in1};
  switch o.op
    case 'linear'
      y = x * o.Wt + o.b;
    case 'relu'
      y = max(x, 0);
    case 'tanh'
      y = tanh(x);
    case 'unscale'
      y = x .* o.half + o.mid;
    case 'clip'
      y = min(max(x, o.low), o.high);
    case 'argmax'
      [~, y] = max(x, [], 2);
      y = y - 1;
    case 'lstm'
      [y, state] = sb3.internal.lstm_step(o, x, state, starts, policy.precision);
    case 'mask_logits'
      y = sb3.internal.mask_logits(x, masks);
    otherwise
      y = sb3.internal.apply_op(o, x, R);
  end
  R{o.output} = y;
end
action = double(R{policy.output});
end
