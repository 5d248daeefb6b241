function y = conv2d(x, o)
%CONV2D 2-D convolution of an N-by-H-by-W-by-C batch, as torch.nn.Conv2d.
%
%   Y = sb3.internal.conv2d(X, O) convolves the images X (N-by-H-by-W-by-Cin)
%   with the op O compiled by sb3.internal.compile_op: O.Wm is the weight as
%   a (kh*kw*Cin)-by-Cout matrix, O.b the 1-by-Cout bias, O.stride [sh sw],
%   O.padding [top bottom left right] zeros, O.dilation [dh dw]. It builds
%   the im2col patch matrix (one column block per kernel offset) and does one
%   matrix multiply. Y is N-by-Ho-by-Wo-by-Cout, Ho = floor((H + top + bottom
%   - dh*(kh-1) - 1)/sh) + 1 and likewise Wo.
%
%   Example:
%     o = sb3.internal.compile_op(struct('op', 'conv2d', 'inputs', 1, 'output', 2, ...
%           'mode', 'always', 'weight', ones(2, 1, 3, 3), 'bias', [0 1], ...
%           'kernel_size', [3 3], 'stride', [1 1], 'padding', [0 0 0 0], ...
%           'dilation', [1 1]), 'double');
%     y = sb3.internal.conv2d(rand(4, 5, 5), o);   % 4x3x3x2
%
%   See also sb3.internal.apply_op, sb3.internal.compile_op.

n = size(x, 1);
cin = o.cin;
pad = o.padding;
if any(pad)
  xp = zeros(n, size(x, 2) + pad(1) + pad(2), size(x, 3) + pad(3) + pad(4), cin, 'like', x);
  xp(:, pad(1) + (1:size(x, 2)), pad(3) + (1:size(x, 3)), :) = x;
  x = xp;
end
kh = o.kernel_size(1);
kw = o.kernel_size(2);
ho = floor((size(x, 2) - o.dilation(1) * (kh - 1) - 1) / o.stride(1)) + 1;
wo = floor((size(x, 3) - o.dilation(2) * (kw - 1) - 1) / o.stride(2)) + 1;
rows0 = (0:ho - 1) * o.stride(1) + 1;
cols0 = (0:wo - 1) * o.stride(2) + 1;
m = n * ho * wo;
P = zeros(m, kh * kw * cin, 'like', x);
col = 0;
for kj = 1:kw
  cols = cols0 + (kj - 1) * o.dilation(2);
  for ki = 1:kh
    rows = rows0 + (ki - 1) * o.dilation(1);
    P(:, col + (1:cin)) = reshape(x(:, rows, cols, :), m, cin);
    col = col + cin;
  end
end
y = reshape(P * o.Wm + o.b, n, ho, wo, size(o.Wm, 2));
end
