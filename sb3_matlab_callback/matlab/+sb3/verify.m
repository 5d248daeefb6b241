function err = verify(policy, tol)
%VERIFY Check a loaded policy against the reference actions in its bundle.
%
%   ERR = sb3.verify(POLICY) runs sb3.predict on the reference observations
%   embedded in the bundle and returns the largest absolute deviation from
%   the actions SB3's predict(..., deterministic=True) gave for them at export
%   time. It raises sb3:verify:mismatch when ERR exceeds the bundle's
%   tolerance (exact match for discrete actions).
%
%   ERR = sb3.verify(POLICY, TOL) uses tolerance TOL instead.
%
%   Usage:
%     err = sb3.verify(policy)
%
%   Example:
%     policy = sb3.load_policy('policy.mat');
%     err = sb3.verify(policy);
%     fprintf('max deviation %g\n', err);
%
%   See also sb3.load_policy, sb3.predict.

ref = policy.reference;
if nargin < 2
  if policy.discrete
    tol = 0;
  else
    tol = ref.atol;
  end
end
actions = sb3.predict(policy, ref.observations);
expected = double(ref.actions);
if ~isequal(size(actions), size(expected))
  error('sb3:verify:mismatch', 'Policy %s returned actions of size %s; the reference has %s.', ...
        policy.path, mat2str(size(actions)), mat2str(size(expected)));
end
err = max([0; abs(actions(:) - expected(:))]);
if ~(err <= tol)
  error('sb3:verify:mismatch', ...
        ['Policy %s (version %d) deviates from SB3''s predict by %g on its %d reference ' ...
         'observations; tolerance %g.'], policy.path, policy.version, err, size(expected, 1), tol);
end
end
