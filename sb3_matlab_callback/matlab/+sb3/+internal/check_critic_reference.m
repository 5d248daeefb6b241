function problem = check_critic_reference(ref, c)
%CHECK_CRITIC_REFERENCE Check the reference sb3.verify compares a bundle's critic against.
%
%   PROBLEM = sb3.internal.check_critic_reference(REF, C) returns '' when
%   the bundle's reference REF fits its (checked) critic C: for kind
%   'q_continuous' the reference actions, which sb3.verify feeds to the
%   critics, have C.action.dim columns; and REF.critic, if present, is a
%   struct with values (real numbers, one row per reference action and
%   C.n_critics columns) and atol (a real scalar). Otherwise PROBLEM says
%   what is wrong, naming the field.
%
%   Usage:
%     problem = sb3.internal.check_critic_reference(ref, c)
%
%   Example:
%     ref = struct('actions', zeros(4, 1), 'critic', struct('values', zeros(4, 1), 'atol', 1e-5));
%     problem = sb3.internal.check_critic_reference(ref, struct('kind', 'value', 'n_critics', 1))
%
%   See also sb3.internal.check_critic, sb3.verify, sb3.internal.replay_reference.

problem = '';
n = size(ref.actions, 1);
if strcmp(c.kind, 'q_continuous') && size(ref.actions, 2) ~= c.action.dim
  problem = sprintf(['reference.actions must have %d columns (critic action.dim): ' ...
                     'sb3.verify gives them to the critics'], c.action.dim);
  return;
end
if ~isfield(ref, 'critic')
  return;
end
rc = ref.critic;
if ~isstruct(rc) || ~isscalar(rc) || ~all(isfield(rc, {'values', 'atol'}))
  problem = 'reference.critic must be a struct with the fields values and atol';
elseif ~(isnumeric(rc.values) && isreal(rc.values) && ~issparse(rc.values)) || ...
       ~isequal(size(rc.values), [n, double(c.n_critics)])
  problem = sprintf(['reference.critic.values must be %d-by-%d real numbers (one row per ' ...
                     'reference action, one column per critic output); it is %s %s'], ...
                    n, c.n_critics, mat2str(size(rc.values)), class(rc.values));
elseif ~(isnumeric(rc.atol) && isscalar(rc.atol) && isreal(rc.atol))
  problem = 'reference.critic.atol must be a real scalar';
end
end
