function o = compile_op(o, precision)
%COMPILE_OP Precompute one op of a bundle's program (load time).
%
%   O = sb3.internal.compile_op(O, PRECISION) stores what sb3.predict needs
%   in the form it uses on every call: in1 (the first input register), linear
%   weights transposed (Wt) with a row bias (b), unscale's half range, and so
%   on. Every floating-point constant is cast to PRECISION ('single' or
%   'double'); index fields (inputs, output, in1) stay double.
%
%   Example:
%     o = sb3.internal.compile_op(struct('op', 'relu', 'inputs', 1, ...
%           'output', 2, 'mode', 'always'), 'double');
%
%   See also sb3.load_policy, sb3.predict.

o.inputs = double(o.inputs(:).');
o.in1 = o.inputs(1);
switch o.op
  case 'linear'
    o.Wt = double(o.weight).';
    o.b = reshape(double(o.bias), 1, []);
    o = rmfield(o, {'weight', 'bias'});
  case {'unscale', 'clip'}
    o.low = reshape(double(o.low), 1, []);
    o.high = reshape(double(o.high), 1, []);
    o.half = 0.5 * (o.high - o.low);
  case 'gaussian_sample'
    if isfield(o, 'log_std')
      o.std = exp(reshape(double(o.log_std), 1, []));
    end
  case {'relu', 'tanh', 'sigmoid', 'elu', 'celu', 'selu', 'leaky_relu', 'prelu', 'silu', ...
        'mish', 'gelu', 'gelu_tanh', 'softplus', 'softsign', 'hardtanh', 'hardsigmoid', ...
        'hardswish', 'logsigmoid', 'tanhshrink', 'softshrink', 'hardshrink', 'threshold', ...
        'argmax', 'multi_argmax', 'binary', 'sde_sample', 'categorical_sample', ...
        'multi_categorical_sample', 'bernoulli_sample', 'concat'}
    % No precomputation needed.
  otherwise
    error('sb3:load_policy:unknownOp', ...
          'Bundle uses op ''%s'', which this runtime does not know. Update the +sb3 runtime.', o.op);
end
names = fieldnames(o);
for j = 1:numel(names)
  v = o.(names{j});
  if isfloat(v) && ~any(strcmp(names{j}, {'inputs', 'output', 'in1', 'nvec'}))
    o.(names{j}) = cast(v, precision);
  end
end
end
