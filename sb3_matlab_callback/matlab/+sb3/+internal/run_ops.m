function [R, state] = run_ops(policy, ops, R, state, starts, masks)
%RUN_OPS Interpret a list of compiled ops on the register cell R.
%
%   [R, STATE] = sb3.internal.run_ops(POLICY, OPS, R, STATE, STARTS, MASKS)
%   runs each op of OPS (compiled by sb3.internal.compile_op) in order,
%   reading its inputs from and writing its output into R. STATE, STARTS and
%   MASKS are sb3.predict's 'State', 'EpisodeStart' and 'ActionMasks'; the
%   lstm op updates STATE. Every op propagates NaN as torch does: no NaN is
%   ever turned into a number (an argmax over scores holding NaN gives NaN).
%
%   Usage:
%     [R, state] = sb3.internal.run_ops(policy, policy.det_ops, R, [], [], [])
%
%   Example:
%     [R, n] = sb3.internal.prepare_inputs(policy, obs);
%     R = sb3.internal.run_ops(policy, policy.det_ops, R, [], [], []);
%     action = double(R{policy.output});
%
%   See also sb3.predict, sb3.internal.apply_op.

for k = 1:numel(ops)
  o = ops{k};
  x = R{o.in1};
  switch o.op
    case 'linear'
      y = x * o.Wt + o.b;
    case 'relu'
      y = max(x, 0);
      y(isnan(x)) = NaN;
    case 'tanh'
      y = tanh(x);
    case 'unscale'
      y = x .* o.half + o.mid;
    case 'clip'
      y = min(max(x, o.low), o.high);
      y(isnan(x)) = NaN;
    case 'argmax'
      y = sb3.internal.argmax_rows(x);
    case 'lstm'
      [y, state] = sb3.internal.lstm_step(o, x, state, starts, policy.precision);
    case 'mask_logits'
      y = sb3.internal.mask_logits(x, masks);
    otherwise
      y = sb3.internal.apply_op(o, x, R);
  end
  R{o.output} = y;
end
end
