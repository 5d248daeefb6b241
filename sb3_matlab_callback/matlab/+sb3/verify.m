function [err, ties] = verify(policy, tol)
%VERIFY Check a loaded policy against the reference actions in its bundle.
%
%   ERR = sb3.verify(POLICY) runs sb3.predict on the reference observations
%   embedded in the bundle and returns the largest absolute deviation from
%   the actions SB3's predict(..., deterministic=True) gave for them at export
%   time. It raises sb3:verify:mismatch when ERR exceeds the bundle's
%   tolerance (exact match for discrete actions), and sb3:verify:nonFinite
%   when the reference actions or the computed ones hold NaN or Inf.
%
%   Discrete actions: where SB3's choice and the runtime's differ only
%   because two action scores are tied within floating-point rounding (the
%   runtime's matrix products may sum in another order than torch's), the
%   choice counts as a match. TIES returns how many reference actions were
%   accepted that way: the chosen scores differ by at most
%   1e-5 * max(1, |largest score|) (for MultiBinary: the logit is within that of 0).
%
%   A frame-stacked bundle's reference is one env's sequence of single frames
%   with its episode starts: it is replayed step by step, carrying the
%   stack (and the LSTM state) in 'State'. A bundle exported with
%   critic=True also checks sb3.value / sb3.q_value (on the reference
%   actions) against the critic outputs SB3 gave at export, within the
%   bundle's reference.critic.atol.
%
%   ERR = sb3.verify(POLICY, TOL) uses tolerance TOL instead.
%
%   Usage:
%     err = sb3.verify(policy)
%     [err, ties] = sb3.verify(policy, tol)
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
[actions, values] = sb3.internal.replay_reference(policy);
expected = double(ref.actions);
if ~isequal(size(actions), size(expected))
  error('sb3:verify:mismatch', 'Policy %s returned actions of size %s; the reference has %s.', ...
        policy.path, mat2str(size(actions)), mat2str(size(expected)));
end
if ~all(isfinite(expected(:)))
  error('sb3:verify:nonFinite', ...
        ['The reference actions of %s hold NaN or Inf: SB3 itself computed no valid action ' ...
         '(non-finite weights or statistics?).'], policy.path);
end
if ~all(isfinite(actions(:)))
  error('sb3:verify:nonFinite', ...
        'Policy %s (version %d) computes NaN or Inf actions on its reference observations.', ...
        policy.path, policy.version);
end
deviation = abs(actions - expected);
ties = 0;
if policy.discrete && any(deviation(:) > tol) && ~isfield(ref, 'episode_starts')
  tied = sb3.internal.near_ties(policy, ref.observations, expected);
  ties = nnz(tied & deviation > tol);
  deviation(tied) = 0;
end
err = max([0; deviation(:)]);
if ~(err <= tol)
  error('sb3:verify:mismatch', ...
        ['Policy %s (version %d) deviates from SB3''s predict by %g on its %d reference ' ...
         'observations; tolerance %g.'], policy.path, policy.version, err, size(expected, 1), tol);
end
if ~isempty(values)
  expected_values = double(ref.critic.values);
  value_err = max([0; abs(values(:) - expected_values(:))]);
  if ~isequal(size(values), size(expected_values)) || ~(value_err <= ref.critic.atol)
    error('sb3:verify:mismatch', ...
          ['Policy %s (version %d): its critic deviates from SB3''s by %g on the reference; ' ...
           'tolerance %g.'], policy.path, policy.version, value_err, ref.critic.atol);
  end
end
end
