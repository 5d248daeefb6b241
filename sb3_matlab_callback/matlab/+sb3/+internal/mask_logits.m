function y = mask_logits(x, masks)
%MASK_LOGITS Set the logits of masked-out choices to -1e8, as sb3-contrib does.
%
%   Y = sb3.internal.mask_logits(X, MASKS) keeps X(i,j) where MASKS(i,j) is
%   true and sets it to -1e8 elsewhere (MaskableCategorical.apply_masking).
%   MASKS is N-by-K logical (or 0/1) for the N-by-K logits X, or a vector of
%   K elements for one observation; [] leaves X unchanged. A mismatching
%   size raises sb3:predict:badActionMasks.
%
%   Example:
%     sb3.internal.mask_logits([1 2 3], [true false true])   % [1 -1e8 3]
%
%   See also sb3.predict.

if isempty(masks)
  y = x;
  return;
end
if size(x, 1) == 1 && isvector(masks) && numel(masks) == size(x, 2)
  masks = reshape(masks, 1, []);
end
if ~isequal(size(masks), size(x)) || ~(islogical(masks) || isnumeric(masks))
  error('sb3:predict:badActionMasks', ...
        ['''ActionMasks'' must be %d-by-%d logical (one row per observation, ' ...
         'one column per choice); got %s.'], ...
        size(x, 1), size(x, 2), mat2str(size(masks)));
end
y = x;
y(~logical(masks)) = -1e8;
end
