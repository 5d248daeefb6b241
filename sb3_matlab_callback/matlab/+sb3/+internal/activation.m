function y = activation(o, x)
%ACTIVATION Evaluate an elementwise activation op, as torch.nn does, NaN kept.
%
%   Y = sb3.internal.activation(O, X) computes the activation named O.op
%   (sigmoid, elu, celu, selu, leaky_relu, prelu, silu, mish, gelu,
%   gelu_tanh, softplus, softsign, hardtanh, hardsigmoid, hardswish,
%   logsigmoid, tanhshrink, softshrink, hardshrink, threshold) on X with the
%   op's parameters. Formulas match torch.nn exactly (docs/bundle-format.md).
%   Where X is NaN, Y is NaN, as in torch: max and min alone would drop it.
%
%   Example:
%     y = sb3.internal.activation(struct('op', 'sigmoid'), [-1 0 1]);
%
%   See also sb3.internal.apply_op.

switch o.op
  case 'sigmoid'
    y = 1 ./ (1 + exp(-x));
  case 'elu'
    y = max(x, 0) + o.alpha * (exp(min(x, 0)) - 1);
  case 'celu'
    y = max(x, 0) + o.alpha * (exp(min(x, 0) / o.alpha) - 1);
  case 'selu'
    y = 1.0507009873554804934193349852946 * ...
        (max(x, 0) + 1.6732632423543772848170429916717 * (exp(min(x, 0)) - 1));
  case 'leaky_relu'
    y = max(x, 0) + o.negative_slope * min(x, 0);
  case 'prelu'
    y = max(x, 0) + reshape(o.weight, 1, []) .* min(x, 0);
  case 'silu'
    y = x ./ (1 + exp(-x));
  case 'mish'
    y = x .* tanh(max(x, 0) + log1p(exp(-abs(x))));
  case 'gelu'
    y = 0.5 * x .* (1 + erf(x / sqrt(2)));
  case 'gelu_tanh'
    y = 0.5 * x .* (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x.^3)));
  case 'softplus'
    bx = o.beta * x;
    y = log1p(exp(min(bx, o.threshold))) / o.beta;
    big = bx > o.threshold;
    y(big) = x(big);
  case 'softsign'
    y = x ./ (1 + abs(x));
  case 'hardtanh'
    y = min(max(x, o.min_val), o.max_val);
  case 'hardsigmoid'
    y = min(max(x / 6 + 0.5, 0), 1);
  case 'hardswish'
    y = x .* min(max(x + 3, 0), 6) / 6;
  case 'logsigmoid'
    y = min(x, 0) - log1p(exp(-abs(x)));
  case 'tanhshrink'
    y = x - tanh(x);
  case 'softshrink'
    y = (x - o.lambd) .* (x > o.lambd) + (x + o.lambd) .* (x < -o.lambd);
  case 'hardshrink'
    y = x .* (abs(x) > o.lambd);
  case 'threshold'
    y = x;
    y(~(x > o.threshold)) = o.value;
  otherwise
    error('sb3:predict:unknownOp', 'Unknown op ''%s''.', o.op);
end
y(isnan(x)) = NaN;
end
