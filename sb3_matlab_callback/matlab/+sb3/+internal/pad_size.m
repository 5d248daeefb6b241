function sz = pad_size(sz, m)
%PAD_SIZE Size vector padded with trailing ones (or trimmed of them) to length M.
%
%   SZ = sb3.internal.pad_size(SZ, M) makes size() comparable with a shape
%   of M dimensions: MATLAB drops trailing singleton dimensions.
%
%   Example:
%     sb3.internal.pad_size([4 3], 3)   % returns [4 3 1]
%
%   See also sb3.internal.flatten_obs.

if numel(sz) < m
  sz = [sz, ones(1, m - numel(sz))];
elseif numel(sz) > m && all(sz(m + 1:end) == 1)
  sz = sz(1:m);
end
end
