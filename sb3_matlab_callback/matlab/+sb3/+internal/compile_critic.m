function critic = compile_critic(raw, precision)
%COMPILE_CRITIC Precompute a bundle's value side (critic=True) at load time.
%
%   CRITIC = sb3.internal.compile_critic(RAW, PRECISION) turns the bundle
%   variable critic into what sb3.value and sb3.q_value run: kind ('none',
%   'value', 'q_continuous' or 'q_discrete'), ops (compiled by
%   sb3.internal.compile_op, in PRECISION), output (the register holding the
%   result), n_critics (its number of columns), recurrent (the critic LSTM,
%   if any) and, for 'q_continuous', action: the register the scaled action
%   fills, its size dim, and low, high and scale for SB3's scale_action.
%
%   Example:
%     critic = sb3.internal.compile_critic(struct('kind', 'none'), 'single');
%
%   See also sb3.load_policy, sb3.value, sb3.q_value.

critic = struct('kind', 'none', 'ops', {{}}, 'output', 0, 'n_critics', 0, ...
                'recurrent', struct('kind', 'none'), 'action', []);
if ~isstruct(raw) || ~isfield(raw, 'kind') || strcmp(raw.kind, 'none')
  return;
end
critic.kind = raw.kind;
ops = raw.ops;
if isstruct(ops)
  ops = {ops};
end
critic.ops = cell(1, numel(ops));
for k = 1:numel(ops)
  critic.ops{k} = sb3.internal.compile_op(ops{k}, precision);
end
critic.output = double(raw.output);
critic.n_critics = double(raw.n_critics);
if isfield(raw, 'recurrent')
  critic.recurrent = raw.recurrent;
end
if isfield(raw, 'action')
  a = raw.action;
  a.register = double(a.register);
  a.dim = double(a.dim);
  a.low = reshape(double(a.low), 1, []);
  a.high = reshape(double(a.high), 1, []);
  a.scale = a.scale ~= 0;
  critic.action = a;
end
end
