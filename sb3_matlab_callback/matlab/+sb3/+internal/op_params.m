function params = op_params(params, o, prefix, unit)
%OP_PARAMS Add the weights of one op to the struct a generated function takes.
%
%   PARAMS = sb3.internal.op_params(PARAMS, O, PREFIX, UNIT) adds the fields of
%   the bundle op O (as stored, before sb3.internal.compile_op) under the names
%   PREFIX + field, as single arrays in the layout generated code uses: flat
%   vectors as rows, LSTM weights transposed (in-by-4H), a conv2d weight as its
%   (Cin*kh*kw)-by-Cout im2col matrix. A linear layer has one field, weight:
%   its weight transposed with the bias as last row, (in+1)-by-out, and when
%   UNIT is true (sb3.internal.unit_carriers) one more column [0 ... 0 1]',
%   (in+1)-by-(out+1). Ops without weights add nothing.
%
%   Example:
%     p = sb3.internal.op_params(struct(), struct('op', 'linear', ...
%           'weight', eye(2), 'bias', [0 1]), 'op1_', false);
%
%   See also sb3.params, sb3.internal.unit_carriers.

switch o.op
  case 'linear'
    w = [double(o.weight).'; reshape(double(o.bias), 1, [])];
    if unit
      w(end, end + 1) = 1;  % the new column is zero above: the output's trailing 1
    end
    params.([prefix 'weight']) = single(w);
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
