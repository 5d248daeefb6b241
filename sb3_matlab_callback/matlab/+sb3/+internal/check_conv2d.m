function [out, problem] = check_conv2d(o, x)
%CHECK_CONV2D Check a conv2d op against its input image shape; return the output shape.
%
%   [OUT, PROBLEM] = sb3.internal.check_conv2d(O, X) checks the conv2d op O
%   of a bundle whose input register is an image of shape X = [H W Cin]:
%   kernel_size and stride [kh kw] and dilation are positive whole numbers,
%   padding [top bottom left right] non-negative, bias holds Cout numbers
%   and weight Cout*Cin*kh*kw, and the output is at least 1-by-1. OUT is
%   [Ho Wo Cout] and PROBLEM ''; otherwise PROBLEM says what is wrong.
%
%   Usage:
%     [out, problem] = sb3.internal.check_conv2d(o, x)
%
%   Example:
%     o = struct('weight', ones(2, 1, 3, 3), 'bias', [0 0], 'kernel_size', [3 3], ...
%                'stride', [1 1], 'padding', [0 0 0 0], 'dilation', [1 1]);
%     out = sb3.internal.check_conv2d(o, [8 8 1])   % [6 6 2]
%
%   See also sb3.internal.check_op, sb3.internal.conv2d.

out = [];
problem = '';
if numel(x) ~= 3
  problem = 'its input must be an image register';
  return;
end
names = {'weight', 'bias', 'kernel_size', 'stride', 'padding', 'dilation'};
counts = [NaN, NaN, 2, 2, 4, 2];
lowest = [-Inf, -Inf, 1, 1, 0, 1];
for j = 1:numel(names)
  if ~isfield(o, names{j}) || ~isnumeric(o.(names{j}))
    problem = sprintf('it needs a numeric %s', names{j});
    return;
  end
  v = double(o.(names{j})(:));
  if ~isnan(counts(j)) && (numel(v) ~= counts(j) || any(v < lowest(j) | v ~= fix(v) | v > 2^20))
    problem = sprintf('%s must be %d whole numbers >= %d', names{j}, counts(j), lowest(j));
    return;
  end
end
ks = double(o.kernel_size(:).');
st = double(o.stride(:).');
pad = double(o.padding(:).');
dil = double(o.dilation(:).');
cout = numel(o.bias);
if cout < 1 || numel(o.weight) ~= cout * x(3) * prod(ks)
  problem = sprintf(['weight must hold Cout*Cin*kh*kw = %d*%d*%d*%d numbers (bias gives ' ...
                     'Cout, the input image Cin)'], cout, x(3), ks(1), ks(2));
  return;
end
ho = floor((x(1) + pad(1) + pad(2) - dil(1) * (ks(1) - 1) - 1) / st(1)) + 1;
wo = floor((x(2) + pad(3) + pad(4) - dil(2) * (ks(2) - 1) - 1) / st(2)) + 1;
if ho < 1 || wo < 1
  problem = sprintf('the kernel does not fit the %d-by-%d input image', x(1), x(2));
  return;
end
out = [ho, wo, cout];
end
