function policy = fast_lane(policy, fn, batch_fn, limit, d)
%FAST_LANE Set the fields sb3.predict's fast lane reads (load time).
%
%   POLICY = sb3.internal.fast_lane(POLICY, FN, BATCH_FN, LIMIT, D) stores the
%   fused handles of sb3.internal.compile_program (FN for one 1-by-D row,
%   BATCH_FN for N-by-D rows), its proven bound LIMIT and a probe of width D.
%   With FN empty the lane is closed: no observation passes its test.
%
%   sb3.predict tests an observation with (OBS .* OBS) * POLICY.fast_probe <
%   POLICY.fast_limit2: each row's sum of squares, in single, below LIMIT^2.
%   The product fails for any width but D, for a sparse or N-D OBS, and its
%   result is NaN or Inf (never below the bound) for NaN, Inf or huge elements.
%   Its single-precision rounding cannot matter: LIMIT keeps every intermediate
%   value below 1e30, far from single's overflow at 3.4e38. A closed lane has
%   a scalar probe, so any numeric OBS multiplies without an error (an error
%   costs Octave about 13 us), and a bound of -1 nothing is below.
%
%   Usage:
%     policy = sb3.internal.fast_lane(policy, fn, batch_fn, limit, d)
%
%   Example:
%     policy = sb3.internal.fast_lane(policy, [], [], 0, 0);   % no lane
%
%   See also sb3.predict, sb3.internal.compile_program, sb3.load_policy.

if isempty(fn)
  policy.fast_fn = [];
  policy.fast_batch_fn = [];
  policy.fast_limit = 0;
  policy.fast_limit2 = -1;
  policy.fast_probe = single(0);
  return;
end
policy.fast_fn = fn;
policy.fast_batch_fn = batch_fn;
policy.fast_limit = limit;
policy.fast_limit2 = limit^2;
policy.fast_probe = ones(d, 1, 'single');
end
