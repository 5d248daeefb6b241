function [x, n] = frame_rows(x, in)
%FRAME_ROWS Turn one frame or a batch of frames into an N-by-frame_shape double array.
%
%   [X, N] = sb3.internal.frame_rows(X, IN) accepts one frame of the shape
%   IN.frame_shape, as the unwrapped env gives it (a 1-D frame may be a row
%   or a column), or N frames stacked along the first dimension, and returns
%   them as an N-by-frame_shape double array. A mismatching size raises
%   sb3:predict:badObsSize.
%
%   Example:
%     in = struct('frame_shape', 3, 'key', '');
%     [x, n] = sb3.internal.frame_rows([1; 2; 3], in);   % x = [1 2 3], n = 1
%
%   See also sb3.internal.frame_stack.

shape = in.frame_shape;
m = numel(shape);
sz = size(x);
if m == 1 && isvector(x) && numel(x) == shape
  n = 1;
elseif m == 1 && numel(sz) == 2 && sz(2) == shape
  n = sz(1);
elseif m > 1 && isequal(sb3.internal.pad_size(sz, m), shape)
  n = 1;
elseif m > 1 && numel(sz) >= 2 && isequal(sb3.internal.pad_size(sz(2:end), m), shape)
  n = sz(1);
else
  sb3.internal.bad_obs_size(in, sz, sprintf('one frame %s or a batch N-by-%s', ...
                                            mat2str(shape), mat2str(shape)));
end
x = reshape(double(x), [n, shape]);
end
