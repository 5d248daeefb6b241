function [x, n] = flatten_obs(x, in)
%FLATTEN_OBS Turn one observation or a batch into N rows, flattened in C order.
%
%   [X, N] = sb3.internal.flatten_obs(X, IN) accepts one observation of the
%   per-observation shape IN.shape, or a batch of N stacked along the first
%   dimension, and returns N-by-prod(IN.shape), each row flattened in C
%   (row-major) order as numpy/torch flatten it. A mismatching size raises
%   sb3:predict:badObsSize, stating the expected and the actual size.
%
%   Example:
%     in = struct('shape', [2 3], 'd', 6, 'flat', false, 'key', '');
%     [x, n] = sb3.internal.flatten_obs(reshape(1:6, 3, 2).', in);  % x = 1:6
%
%   See also sb3.predict.

shape = in.shape;
sz = size(x);
m = numel(shape);
if in.flat
  if isvector(x) && numel(x) == in.d
    x = reshape(x, 1, in.d);
    n = 1;
    return;
  end
elseif isequal(sb3.internal.pad_size(sz, m), shape)
  x = reshape(permute(x, m:-1:1), 1, in.d);
  n = 1;
  return;
elseif isequal(sb3.internal.pad_size(sz(2:end), m), shape)
  n = sz(1);
  x = reshape(permute(x, [1, (m + 1):-1:2]), n, in.d);
  return;
end
if isempty(shape) || numel(shape) == 1
  expected = sprintf('a vector of %d elements or N-by-%d', in.d, in.d);
else
  expected = sprintf('%s or N-by-%s', mat2str(shape), mat2str(shape));
end
sb3.internal.bad_obs_size(in, sz, expected);
end
