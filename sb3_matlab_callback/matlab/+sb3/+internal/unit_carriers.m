function unit = unit_carriers(ops, output)
%UNIT_CARRIERS Which ops' outputs carry a trailing 1 in generated code.
%
%   UNIT = sb3.internal.unit_carriers(OPS, OUTPUT) returns a logical row, one
%   element per op of the bundle program OPS (a cell array of op structs as
%   stored) whose program output register is OUTPUT. UNIT(k) is true when op k
%   is a linear layer or an activation that keeps 1 as exactly 1 and NaN as
%   NaN (relu; hardshrink with lambd < 1), and its output is read, until it is
%   written again, by at least one op that does not only run when sampling,
%   only by linear layers and by such activations that carry it on, and is not
%   the program's output. A linear layer with UNIT(k) true has one more weight
%   column [0 ... 0 1]', so its output holds a trailing 1 and the next layer
%   needs no bias addition. This is the rule of the Python generator
%   (sb3_matlab_callback.generate.spec.unit_carriers); sb3.params follows it
%   so its sizes match the generated function.
%
%   Example:
%     unit = sb3.internal.unit_carriers(policy.raw_ops, policy.output);
%
%   See also sb3.params, sb3.internal.op_params.

n = numel(ops);
unit = false(1, n);
for k = n:-1:1
  o = ops{k};
  % relu is x .* (x > 0), hardshrink x .* (abs(x) > lambd): 1 stays 1, NaN stays NaN.
  keeps = strcmp(o.op, 'relu') || (strcmp(o.op, 'hardshrink') && double(o.lambd) < 1);
  if strcmp(o.mode, 'stochastic') || ~(strcmp(o.op, 'linear') || keeps)
    continue;
  end
  reg = double(o.output);
  found = false;
  ok = true;
  rewritten = false;
  for j = k + 1:n
    r = ops{j};
    if strcmp(r.mode, 'stochastic')
      continue;
    end
    if any(double(r.inputs(:)) == reg)
      found = true;
      ok = ok && (strcmp(r.op, 'linear') || unit(j));
    end
    if double(r.output) == reg
      rewritten = true;
      break;
    end
  end
  unit(k) = found && ok && (rewritten || reg ~= double(output));
end
end
