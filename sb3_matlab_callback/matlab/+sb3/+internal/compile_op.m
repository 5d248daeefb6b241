function o = compile_op(o, precision, old)
%COMPILE_OP Precompute one op of a bundle's program (load time).
%
%   O = sb3.internal.compile_op(O, PRECISION) stores what sb3.predict needs
%   in the form it uses on every call: in1 (the first input register), linear
%   weights transposed (Wt) with a row bias (b), unscale's half range, the
%   convolution weight as an im2col matrix (Wm), batch_norm's standard
%   deviation, the LSTM weights transposed, and so on. Every floating-point
%   constant is cast to PRECISION ('single' or 'double'); index and size
%   fields (inputs, output, in1, nvec, shape, dim, kernel_size, ...) stay
%   double.
%
%   O = sb3.internal.compile_op(O, PRECISION, OLD) compiles O from OLD, the
%   compiled op of an earlier bundle of the same program whose fields other
%   than the weights (linear) or low and high (unscale, clip) are equal to
%   O's (sb3.internal.reload_policy proves it): only those are computed
%   again, with the same formulas. Other ops are compiled in full.
%
%   Example:
%     o = sb3.internal.compile_op(struct('op', 'relu', 'inputs', 1, ...
%           'output', 2, 'mode', 'always'), 'double');
%
%   See also sb3.load_policy, sb3.predict.

if nargin > 2
  % convert(x) is cast(x, precision) without Octave's m-file cast (15 us a call).
  convert = @double;
  if strcmp(precision, 'single')
    convert = @single;
  end
  switch o.op
    case 'linear'
      old.Wt = convert(o.weight).';
      old.b = convert(reshape(o.bias, 1, []));
      o = old;
      return;
    case {'unscale', 'clip'}
      low = reshape(double(o.low), 1, []);
      high = reshape(double(o.high), 1, []);
      half = 0.5 * (high - low);
      old.low = convert(low);
      old.high = convert(high);
      old.half = convert(half);
      old.mid = convert(low + half);
      o = old;
      return;
  end
end
o.inputs = double(o.inputs(:).');
o.in1 = o.inputs(1);
switch o.op
  case 'linear'
    % cast(w, precision) equals cast(double(w), precision) for double, single and logical w.
    o.Wt = cast(o.weight, precision).';
    o.b = cast(reshape(o.bias, 1, []), precision);
    o = rmfield(o, {'weight', 'bias'});
  case {'unscale', 'clip'}
    o.low = reshape(double(o.low), 1, []);
    o.high = reshape(double(o.high), 1, []);
    o.half = 0.5 * (o.high - o.low);
    o.mid = o.low + o.half;  % unscale: low + (x + 1) .* half == x .* half + mid
  case 'gaussian_sample'
    if isfield(o, 'log_std')
      o.std = exp(reshape(double(o.log_std), 1, []));
    end
  case 'conv2d'
    % The weight (Cout x Cin x kh x kw) as a (kh*kw*Cin)-by-Cout matrix whose rows
    % follow sb3.internal.conv2d's patch columns: kernel column, kernel row, channel.
    o.kernel_size = double(o.kernel_size(:).');
    o.stride = double(o.stride(:).');
    o.padding = double(o.padding(:).');
    o.dilation = double(o.dilation(:).');
    o.b = reshape(double(o.bias), 1, []);
    cout = numel(o.b);
    o.cin = numel(o.weight) / (cout * prod(o.kernel_size));
    W = reshape(double(o.weight), [cout, o.cin, o.kernel_size]);
    o.Wm = reshape(permute(W, [2 3 4 1]), [], cout);
    o = rmfield(o, {'weight', 'bias'});
  case 'batch_norm'
    o.mean = reshape(double(o.mean), 1, []);
    o.std = sqrt(reshape(double(o.var), 1, []) + double(o.eps));
    o.weight = reshape(double(o.weight), 1, []);
    o.bias = reshape(double(o.bias), 1, []);
  case 'layer_norm'
    o.weight = reshape(double(o.weight), 1, []);
    o.bias = reshape(double(o.bias), 1, []);
  case 'mean'
    o.shape = double(o.shape(:).');
    o.dim = double(o.dim);
  case 'lstm'
    o.num_layers = double(o.num_layers);
    o.hidden_size = double(o.hidden_size);
    for k = 1:numel(o.layers)
      layer = o.layers{k};
      o.layers{k} = struct('Wih_t', cast(double(layer.weight_ih).', precision), ...
                           'Whh_t', cast(double(layer.weight_hh).', precision), ...
                           'bias_ih', cast(reshape(double(layer.bias_ih), 1, []), precision), ...
                           'bias_hh', cast(reshape(double(layer.bias_hh), 1, []), precision));
    end
  case 'epsilon_greedy'
    o.epsilon = double(o.epsilon);
    o.n = double(o.n);
  case {'relu', 'tanh', 'sigmoid', 'elu', 'celu', 'selu', 'leaky_relu', 'prelu', 'silu', ...
        'mish', 'gelu', 'gelu_tanh', 'softplus', 'softsign', 'hardtanh', 'hardsigmoid', ...
        'hardswish', 'logsigmoid', 'tanhshrink', 'softshrink', 'hardshrink', 'threshold', ...
        'argmax', 'multi_argmax', 'binary', 'sde_sample', 'categorical_sample', ...
        'multi_categorical_sample', 'bernoulli_sample', 'concat', 'flatten', 'mask_logits'}
    % No precomputation needed.
  otherwise
    error('sb3:load_policy:corrupt', ...
          ['Bundle uses op ''%s'', which this runtime does not know. ' ...
           'Update the +sb3 runtime.'], o.op);
end
keep = {'inputs', 'output', 'in1', 'nvec', 'shape', 'dim', 'kernel_size', 'stride', ...
        'padding', 'dilation', 'cin', 'num_layers', 'hidden_size', 'epsilon', 'n'};
names = fieldnames(o);
for j = 1:numel(names)
  v = o.(names{j});
  if isfloat(v) && ~any(strcmp(names{j}, keep))
    o.(names{j}) = cast(v, precision);
  end
end
end
