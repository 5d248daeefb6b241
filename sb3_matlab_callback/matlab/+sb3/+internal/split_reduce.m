function y = split_reduce(x, nvec, fn)
%SPLIT_REDUCE Apply FN to consecutive column blocks of X of widths NVEC.
%
%   Y = sb3.internal.split_reduce(X, NVEC, FN) returns N-by-numel(NVEC), the
%   k-th column being FN(block k), as for MultiDiscrete action logits.
%
%   Example:
%     y = sb3.internal.split_reduce([1 2 0 9 1], [2 3], @sb3.internal.argmax_rows);
%
%   See also sb3.predict.

nvec = double(nvec(:).');
y = zeros(size(x, 1), numel(nvec));
first = 1;
for k = 1:numel(nvec)
  last = first + nvec(k) - 1;
  y(:, k) = fn(x(:, first:last));
  first = last + 1;
end
end
