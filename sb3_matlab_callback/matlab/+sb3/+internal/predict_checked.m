function [action, state] = predict_checked(policy, obs, args)
%PREDICT_CHECKED sb3.predict for every call the fast lane does not take.
%
%   [ACTION, STATE] = sb3.internal.predict_checked(POLICY, OBS, ARGS) checks
%   the observation and the options ARGS (sb3.predict's Name, Value pairs,
%   text already converted by sb3.internal.text_args), then interprets the
%   program: the options, frame stacking, input checks and preprocessing
%   (sb3.internal.prepare_inputs) and every op with exact NaN handling
%   (sb3.internal.run_ops). It raises sb3.predict's errors.
%
%   Usage:
%     [action, state] = sb3.internal.predict_checked(policy, obs, {})
%
%   Example:
%     a = sb3.internal.predict_checked(policy, [0.1; -0.2; 0.3], {'Deterministic', true});
%
%   See also sb3.predict.

state = [];
deterministic = true;
starts = [];
masks = [];
if ~isempty(args)
  opts = sb3.internal.parse_options(args);
  deterministic = opts.Deterministic;
  state = opts.State;
  starts = opts.EpisodeStart;
  masks = opts.ActionMasks;
  if ~isempty(masks) && ~policy.maskable
    error('sb3:predict:badOption', ...
          '''ActionMasks'' applies to MaskablePPO policies only; this is %s.', policy.algorithm);
  end
end
stacked = policy.frame_stack.n_stack > 0;
if stacked  % single frames: the stack travels in state.stack (VecFrameStack)
  [obs, state, stack] = sb3.internal.frame_stack(policy, obs, state, starts);
end
R = sb3.internal.prepare_inputs(policy, obs);
if deterministic
  ops = policy.det_ops;
else
  ops = policy.sto_ops;
end
[R, state] = sb3.internal.run_ops(policy, ops, R, state, starts, masks);
action = double(R{policy.output});
if stacked
  if isempty(state)
    state = struct();
  end
  state.stack = stack;
end
end
