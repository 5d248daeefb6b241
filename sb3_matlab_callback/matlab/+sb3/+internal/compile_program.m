function fn = compile_program(ops, num_registers, output, in, precision)
%COMPILE_PROGRAM Fuse a deterministic op list into one function handle (load time).
%
%   FN = sb3.internal.compile_program(OPS, NUM_REGISTERS, OUTPUT) returns a
%   handle FN(R) that computes register OUTPUT from the input registers in
%   the cell R as one expression, so a sb3.predict call pays one function
%   call instead of interpreting OPS one by one.
%
%   FN = sb3.internal.compile_program(OPS, NUM_REGISTERS, OUTPUT, IN, PRECISION)
%   fuses the preprocessing of the single flat input IN as well: FN(X) takes
%   the raw N-by-d floating-point observation, normalizes it in double and
%   casts it to PRECISION. Either way FN returns double.
%
%   FN is [] when the program cannot be fused (a register is read twice, an
%   op with several inputs has no expression form, or an op reads
%   sb3.predict's options: lstm, mask_logits); sb3.predict then interprets OPS.
%
%   Example:
%     fn = sb3.internal.compile_program(policy.det_ops, policy.num_registers, policy.output);
%
%   See also sb3.load_policy, sb3.predict.

fn = [];
uses = zeros(1, num_registers);
for k = 1:numel(ops)
  uses(ops{k}.inputs) = uses(ops{k}.inputs) + 1;
end
if any(uses > 1)
  return;
end
E = cell(1, num_registers);
C = {};
if nargin < 4
  arg = 'R';
  for r = find(uses == 1 | (1:num_registers) == output)
    E{r} = sprintf('R{%d}', r);
  end
else
  arg = 'x';
  x = 'x';
  if in.normalize || in.scale ~= 1
    x = 'double(x)';
  end
  if in.normalize
    C = [C, {in.mean, in.inv_std, -in.clip_obs, in.clip_obs}];
    x = sprintf('min(max((%s - c%d) .* c%d, c%d), c%d)', x, numel(C) - 3, numel(C) - 2, ...
                numel(C) - 1, numel(C));
  end
  if in.scale ~= 1
    C = [C, {in.scale}];
    x = sprintf('(%s / c%d)', x, numel(C));
  end
  if strcmp(precision, 'single') && strcmp(x, 'x')
    E{in.output} = x;  % float x times single weights computes in single, as torch does
  else
    E{in.output} = sprintf('%s(%s)', precision, x);
  end
end
for k = 1:numel(ops)
  o = ops{k};
  x = E{o.in1};
  switch o.op
    case 'linear'
      C = [C, {o.Wt, o.b}]; %#ok<AGROW>
      E{o.output} = sprintf('(%s * c%d + c%d)', x, numel(C) - 1, numel(C));
    case 'relu'
      E{o.output} = sprintf('max(%s, 0)', x);
    case 'tanh'
      E{o.output} = sprintf('tanh(%s)', x);
    case 'unscale'
      if any(o.half ~= 1)
        C = [C, {o.half}]; %#ok<AGROW>
        x = sprintf('(%s .* c%d)', x, numel(C));
      end
      if any(o.mid ~= 0)
        C = [C, {o.mid}]; %#ok<AGROW>
        x = sprintf('(%s + c%d)', x, numel(C));
      end
      E{o.output} = x;
    case {'clip', 'hardtanh'}
      if strcmp(o.op, 'clip')
        C = [C, {o.low, o.high}]; %#ok<AGROW>
      else
        C = [C, {o.min_val, o.max_val}]; %#ok<AGROW>
      end
      E{o.output} = sprintf('min(max(%s, c%d), c%d)', x, numel(C) - 1, numel(C));
    case 'argmax'
      E{o.output} = sprintf('sb3.internal.argmax_rows(%s)', x);
    case {'lstm', 'mask_logits'}
      return;  % these read predict's options (State, ActionMasks): interpreted
    otherwise
      if numel(o.inputs) > 1
        return;
      end
      C = [C, {o}]; %#ok<AGROW>
      E{o.output} = sprintf('sb3.internal.apply_op(c%d, %s, {})', numel(C), x);
  end
end
if isempty(E{output})
  return;
end
% Bind each constant to its own variable so the handle captures it directly.
for j = 1:numel(C)
  eval(sprintf('c%d = C{%d};', j, j));
end
clear C;
if nargin == 5 && strcmp(precision, 'double')
  eval(sprintf('fn = @(%s) %s;', arg, E{output}));  % already double: the input is cast
else
  eval(sprintf('fn = @(%s) double(%s);', arg, E{output}));
end
end
