function problem = check_critic_fields(c, nreg, shapes)
%CHECK_CRITIC_FIELDS Check a critic's output, n_critics, recurrent and action fields.
%
%   PROBLEM = sb3.internal.check_critic_fields(C, NREG, SHAPES) returns ''
%   when the bundle's critic struct C (kind 'value', 'q_continuous' or
%   'q_discrete', with the fields ops, output and n_critics) has: output a
%   register in 1..NREG; n_critics a positive whole number (1 for 'value');
%   recurrent, if present, a struct whose kind is 'none' or 'lstm'; and,
%   for 'q_continuous' only, action: a struct whose register is in 1..NREG
%   and filled by no observation input (SHAPES, one per register, [] where
%   no input writes), dim a positive whole number, scale a real scalar, and
%   low and high real numbers, dim of each. Otherwise PROBLEM says what is
%   wrong. The ops are checked by sb3.internal.check_critic.
%
%   Usage:
%     problem = sb3.internal.check_critic_fields(c, nreg, shapes)
%
%   Example:
%     c = struct('kind', 'value', 'ops', {{}}, 'output', 3, 'n_critics', 1);
%     problem = sb3.internal.check_critic_fields(c, 3, {4, [], []})   % ''
%
%   See also sb3.internal.check_critic.

problem = '';
if ~sb3.internal.is_whole(c.output, 1) || c.output > nreg
  problem = sprintf('output must be a register in 1..%d', nreg);
elseif ~sb3.internal.is_whole(c.n_critics, 1) || c.n_critics > 2^31
  problem = 'n_critics must be a positive whole number';
elseif strcmp(c.kind, 'value') && c.n_critics ~= 1
  problem = 'a value function (kind ''value'') has n_critics 1';
elseif isfield(c, 'recurrent') && ...
       ~(isstruct(c.recurrent) && isscalar(c.recurrent) && isfield(c.recurrent, 'kind') && ...
         ischar(c.recurrent.kind) && any(strcmp(c.recurrent.kind, {'none', 'lstm'})))
  problem = 'recurrent must be a struct whose kind is ''none'' or ''lstm''';
elseif strcmp(c.kind, 'q_continuous') ~= isfield(c, 'action')
  problem = 'action is required for kind ''q_continuous'', and only there';
end
if ~isempty(problem) || ~isfield(c, 'action')
  return;
end
a = c.action;
names = {'register', 'dim', 'scale', 'low', 'high'};
if ~isstruct(a) || ~isscalar(a) || ~all(isfield(a, names))
  problem = ['action must be a struct with the fields ', strjoin(names, ', ')];
elseif ~sb3.internal.is_whole(a.register, 1) || a.register > nreg || ...
       ~isempty(shapes{double(a.register)})
  problem = sprintf(['action.register must be a register in 1..%d that no observation ' ...
                     'input fills'], nreg);
elseif ~sb3.internal.is_whole(a.dim, 1) || a.dim > 2^31
  problem = 'action.dim must be a positive whole number';
elseif ~(isnumeric(a.scale) || islogical(a.scale)) || ~isscalar(a.scale) || ~isreal(a.scale) || ...
       isnan(a.scale)
  problem = 'action.scale must be a real scalar (1: scale the action to [-1, 1], 0: not)';
else
  for bound = {'low', 'high'}
    v = a.(bound{1});
    if ~isfloat(v) || ~isreal(v) || issparse(v) || numel(v) ~= a.dim
      problem = sprintf('action.%s must hold %d real numbers (action.dim)', bound{1}, a.dim);
      return;
    end
  end
end
end
