function [R, n] = prepare_inputs(policy, obs)
%PREPARE_INPUTS Check and preprocess an observation into the program's input registers.
%
%   [R, N] = sb3.internal.prepare_inputs(POLICY, OBS) returns the register
%   cell R (1-by-POLICY.num_registers) with each input register filled: the
%   observation (or its Dict field) checked (sb3.internal.check_obs), shaped
%   into N rows, VecNormalize-normalized in double, one-hot encoded or
%   scaled, and cast to the policy's precision. N is the number of
%   observations. Errors: sb3:predict:badObsType, sb3:predict:badObsValue,
%   sb3:predict:badObsSize, sb3:predict:missingKey.
%
%   Usage:
%     [R, n] = sb3.internal.prepare_inputs(policy, obs)
%
%   Example:
%     [R, n] = sb3.internal.prepare_inputs(policy, [0.1 -0.2 0.3]);
%
%   See also sb3.predict, sb3.internal.run_ops.

R = cell(1, policy.num_registers);
n = -1;
inputs = policy.inputs;
for i = 1:numel(inputs)
  in = inputs{i};
  if in.is_dict
    if ~isstruct(obs) || ~isscalar(obs) || ~isfield(obs, in.field)
      error('sb3:predict:missingKey', ...
            'Observation must be a struct with field ''%s'' (Dict key ''%s'').', in.field, in.key);
    end
    x = obs.(in.field);
  else
    x = obs;
  end
  sb3.internal.check_obs(x, in);
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
    z = (x - in.mean) .* in.inv_std;
    x = min(max(z, -in.clip_obs), in.clip_obs);
    x(isnan(z)) = NaN;  % non-finite statistics: NaN stays NaN, as in VecNormalize
  end
  if strcmp(in.kind, 'onehot')
    x = sb3.internal.one_hot(x, in);
  elseif in.scale ~= 1
    x = x / in.scale;
  end
  R{in.output} = cast(x, policy.precision);
end
end
