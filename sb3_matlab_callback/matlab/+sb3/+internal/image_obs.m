function [x, n] = image_obs(x, in)
%IMAGE_OBS Turn one image or a batch into an N-by-H-by-W-by-C array.
%
%   [X, N] = sb3.internal.image_obs(X, IN) accepts one observation of a 3-D
%   Box input IN (kind 'image') or a batch of N stacked along the first
%   dimension, in the env's layout IN.layout: 'HWC' takes H-by-W-by-C images
%   (N-by-H-by-W-by-C batches), 'CHW' takes C-by-H-by-W (N-by-C-by-H-by-W).
%   IN.shape is the policy's [C H W]. For a real image space
%   (IN.transposable), the other layout is accepted as well, as SB3's
%   predict() accepts both; IN.layout wins when both fit. The result is
%   always N-by-H-by-W-by-C, the runtime's image register layout. A
%   mismatching size raises sb3:predict:badObsSize.
%
%   Example:
%     in = struct('shape', [3 36 36], 'layout', 'HWC', 'transposable', true, 'key', '');
%     [x, n] = sb3.internal.image_obs(zeros(36, 36, 3, 'uint8'), in);  % 1x36x36x3
%
%   See also sb3.predict, sb3.internal.flatten_obs.

chw = in.shape;
hwc = chw([2 3 1]);
if strcmp(in.layout, 'HWC')
  layouts = {'HWC', 'CHW'};
  shapes = {hwc, chw};
else
  layouts = {'CHW', 'HWC'};
  shapes = {chw, hwc};
end
if ~in.transposable
  layouts = layouts(1);
  shapes = shapes(1);
end
sz = size(x);
for k = 1:numel(shapes)
  shape = shapes{k};
  if isequal(sb3.internal.pad_size(sz, 3), shape)
    n = 1;
  elseif numel(sz) >= 2 && isequal(sb3.internal.pad_size(sz(2:end), 3), shape)
    n = sz(1);
  else
    continue;
  end
  x = reshape(x, [n, shape]);
  if strcmp(layouts{k}, 'CHW')
    x = permute(x, [1 3 4 2]);
  end
  return;
end
first = shapes{1};
expected = sprintf('one image %s (%s) or a batch N-by-%s', mat2str(first), layouts{1}, ...
                   mat2str(first));
if numel(shapes) > 1
  expected = sprintf('%s, or the same in %s order %s', expected, layouts{2}, mat2str(shapes{2}));
end
sb3.internal.bad_obs_size(in, sz, expected);
end
