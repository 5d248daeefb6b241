function a = scale_action(action, spec)
%SCALE_ACTION Bring env-space actions to the critics' input, as SB3's policy.scale_action.
%
%   A = sb3.internal.scale_action(ACTION, SPEC) checks ACTION (N-by-A, or a
%   vector of A elements for one observation; real, finite) against
%   SPEC.dim and returns N-by-A double: 2*(ACTION - low)./(high - low) - 1
%   when SPEC.scale (squashed policies: SAC, TD3, DDPG, TQC, CrossQ), else
%   ACTION. Errors: sb3:q_value:badActionSize, sb3:q_value:badAction.
%
%   Example:
%     spec = struct('dim', 1, 'scale', true, 'low', -2, 'high', 2);
%     sb3.internal.scale_action(1, spec)   % returns 0.5
%
%   See also sb3.q_value.

if ~((isnumeric(action) || islogical(action)) && isreal(action) && ~issparse(action))
  error('sb3:q_value:badAction', 'ACTION must be a real numeric array, got class %s.', ...
        class(action));
end
d = spec.dim;
if isvector(action) && numel(action) == d
  action = reshape(action, 1, d);
elseif ~(ismatrix(action) && size(action, 2) == d)
  error('sb3:q_value:badActionSize', ...
        'ACTION has size %s; expected N-by-%d (one row per observation) or a vector of %d.', ...
        mat2str(size(action)), d, d);
end
a = double(action);
if ~all(isfinite(a(:)))
  error('sb3:q_value:badAction', 'ACTION holds NaN or Inf.');
end
if spec.scale
  a = 2 * ((a - spec.low) ./ (spec.high - spec.low)) - 1;
end
end
