function params = op_params(params, o, prefix)
%OP_PARAMS Add the weights of one op to the struct a generated function takes.
%
%   PARAMS = sb3.internal.op_params(PARAMS, O, PREFIX) adds the fields of the
%   bundle op O (as stored, before sb3.internal.compile_op) under the names
%   PREFIX + field, as single arrays in the layout generated code uses: flat
%   vectors as rows, linear and LSTM weights transposed (in-by-out), a conv2d
%   weight as its (Cin*kh*kw)-by-Cout im2col matrix. Ops without weights add
%   nothing.
%
%   Example:
%     p = sb3.internal.op_params(struct(), struct('op', 'linear', ...
%           'weight', eye(2), 'bias', [0 1]), 'op1_');
%
%   See also sb3.params.

switch o.op
  case 'linear'
    params.([prefix 'weight']) = single(o.weight.');
    params.([prefix 'bias']) = single(reshape(o.bias, 1, []));
  case 'conv2d'
    cout = numel(o.bias);
    ks = double(o.kernel_size);
    w = reshape(double(o.weight), [cout, numel(o.weight) / (cout * prod(ks)), ks(:).']);
    params.([prefix 'weight']) = single(reshape(permute(w, [2 3 4 1]), [], cout));
    params.([prefix 'bias']) = single(reshape(o.bias, 1, []));
  case 'prelu'
    params.([prefix 'weight']) = single(reshape(o.weight, 1, []));
  case 'batch_norm'
    for name = {'mean', 'var', 'weight', 'bias'}
      params.([prefix name{1}]) = single(reshape(o.(name{1}), 1, []));
    end
  case 'layer_norm'
    params.([prefix 'weight']) = single(reshape(o.weight, 1, []));
    params.([prefix 'bias']) = single(reshape(o.bias, 1, []));
  case 'lstm'
    for j = 1:numel(o.layers)
      layer = o.layers{j};
      p = sprintf('%sl%d_', prefix, j);
      params.([p 'weight_ih']) = single(layer.weight_ih.');
      params.([p 'weight_hh']) = single(layer.weight_hh.');
      params.([p 'bias_ih']) = single(reshape(layer.bias_ih, 1, []));
      params.([p 'bias_hh']) = single(reshape(layer.bias_hh, 1, []));
    end
end
end
