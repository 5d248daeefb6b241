function check_critic(S, bundle_path, shapes)
%CHECK_CRITIC Check a bundle's value side (critic=True) before sb3.value or sb3.q_value runs it.
%
%   sb3.internal.check_critic(S, BUNDLE_PATH, SHAPES) checks the bundle
%   variable critic (absent, or kind 'none': nothing to check) with the
%   rules of the actor's program, so that no bundle can give a MATLAB
%   indexing or size error in sb3.value, sb3.q_value or sb3.verify:
%     - kind is 'value', 'q_continuous' or 'q_discrete'; output is a
%       register, n_critics a positive whole number (1 for 'value'), and
%       recurrent (optional) a struct whose kind is 'none' or 'lstm';
%     - 'q_continuous' (and only it) has action: a register no input fills,
%       its width dim, a scalar scale, and low and high of dim numbers;
%     - ops is a non-empty cell of ops, each of mode 'always' (sb3.value
%       runs them all), no sampling, masking or exploration op, checked by
%       sb3.internal.check_op_header and sb3.internal.check_op with the
%       width of each register followed from SHAPES (the shapes of the
%       registers the observation inputs fill, as
%       sb3.internal.check_program returns them) and the action register:
%       a critic op reads only registers an input, the action or an earlier
%       critic op has written; at most one lstm op, and only when
%       recurrent says 'lstm';
%     - the output register then holds N-by-n_critics values;
%     - reference.critic (if present) has values of one row per reference
%       action and n_critics columns, and a scalar atol; for
%       'q_continuous' the reference actions have dim columns.
%   Any problem raises sb3:load_policy:corrupt naming the critic op (number
%   and name) or the field.
%
%   Usage:
%     sb3.internal.check_critic(S, bundle_path, shapes)
%
%   Example:
%     S = load('sac_with_critic.mat');
%     sb3.internal.check_critic(S, 'sac_with_critic.mat', sb3.internal.check_program(S, 'p'));
%
%   See also sb3.load_policy, sb3.internal.check_program, sb3.internal.compile_critic.

corrupt = 'sb3:load_policy:corrupt';
if ~isfield(S, 'critic')
  return;
end
c = S.critic;
if ~isstruct(c) || ~isscalar(c) || ~isfield(c, 'kind') || ~ischar(c.kind) || size(c.kind, 1) > 1
  error(corrupt, 'Bundle %s: critic must be a struct with a text field kind.', bundle_path);
end
if strcmp(c.kind, 'none')
  return;
end
if ~any(strcmp(c.kind, {'value', 'q_continuous', 'q_discrete'}))
  error(corrupt, ['Bundle %s: critic kind ''%s'' is unknown (''none'', ''value'', ' ...
                  '''q_continuous'' or ''q_discrete''; a damaged file, or a newer ' ...
                  'exporter''s bundle: update the +sb3 runtime).'], bundle_path, c.kind);
end
need = {'ops', 'output', 'n_critics'};
missing = need(~isfield(c, need));
if ~isempty(missing)
  error(corrupt, 'Bundle %s: critic lacks the field(s): %s.', bundle_path, strjoin(missing, ', '));
end
nreg = double(S.num_registers);
problem = sb3.internal.check_critic_fields(c, nreg, shapes);
if ~isempty(problem)
  error(corrupt, 'Bundle %s: critic: %s.', bundle_path, problem);
end
continuous = strcmp(c.kind, 'q_continuous');
if continuous
  shapes{double(c.action.register)} = double(c.action.dim);
end
recurrent = isfield(c, 'recurrent') && strcmp(c.recurrent.kind, 'lstm');
ops = c.ops;
if isstruct(ops) && isscalar(ops)
  ops = {ops};
end
if ~iscell(ops) || isempty(ops)
  error(corrupt, 'Bundle %s: critic ops must be a non-empty cell array of structs.', bundle_path);
end
lstm_ops = 0;
for k = 1:numel(ops)
  o = ops{k};
  [name, problem] = sb3.internal.check_op_header(o, nreg);
  if isempty(problem) && ~strcmp(o.mode, 'always')
    problem = 'mode must be ''always'' (sb3.value and sb3.q_value run every critic op)';
  elseif isempty(problem) && any(strcmp(name, {'gaussian_sample', 'sde_sample', ...
                                               'categorical_sample', ...
                                               'multi_categorical_sample', ...
                                               'bernoulli_sample', 'mask_logits', ...
                                               'epsilon_greedy'}))
    problem = 'a critic computes values: it has no sampling, masking or exploration op';
  end
  if isempty(problem)
    regs = double(o.inputs(:).');
    unset = regs(cellfun('isempty', shapes(regs)));
    if ~isempty(unset)
      problem = sprintf(['reads register %d, which neither an observation input, the ' ...
                         'action nor an earlier critic op writes'], unset(1));
    end
  end
  if isempty(problem)
    [out, problem] = sb3.internal.check_op(o, shapes(regs));
  end
  if strcmp(name, 'lstm')
    lstm_ops = lstm_ops + 1;
    if isempty(problem) && ~(lstm_ops == 1 && recurrent)
      problem = 'a critic has at most one lstm op, and its recurrent field must say ''lstm''';
    end
  end
  if strcmp(problem, 'unknown')
    error(corrupt, ...
          ['Bundle %s: critic op %d uses op ''%s'', which this runtime does not know ' ...
           '(a damaged file, or a newer exporter''s bundle: update the +sb3 runtime).'], ...
          bundle_path, k, name);
  elseif ~isempty(problem)
    error(corrupt, 'Bundle %s: critic op %d (%s): %s.', bundle_path, k, name, problem);
  end
  shapes{o.output} = out;
end
if recurrent && lstm_ops == 0
  error(corrupt, 'Bundle %s: critic: recurrent says ''lstm'' but no critic op is an lstm.', ...
        bundle_path);
end
out = shapes{double(c.output)};
if isempty(out) || numel(out) ~= 1 || out ~= c.n_critics
  error(corrupt, ['Bundle %s: critic: output register %d must hold N-by-%d values ' ...
                  '(n_critics) after the critic ops.'], bundle_path, c.output, c.n_critics);
end
problem = sb3.internal.check_critic_reference(S.reference, c);
if ~isempty(problem)
  error(corrupt, 'Bundle %s: %s.', bundle_path, problem);
end
end
