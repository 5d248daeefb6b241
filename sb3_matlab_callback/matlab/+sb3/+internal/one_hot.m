function y = one_hot(x, in)
%ONE_HOT Concatenated one-hot encoding of Discrete / MultiDiscrete indices.
%
%   Y = sb3.internal.one_hot(X, IN) maps N-by-k integer indices (column j in
%   0..IN.nvec(j)-1) to N-by-sum(IN.nvec), as SB3's preprocess_obs does.
%   Indices that are out of range or not integers raise sb3:predict:badObsValue.
%
%   Example:
%     in = struct('nvec', [3 2], 'offsets', [0 3], 'width', 5, 'key', '');
%     sb3.internal.one_hot([2 1], in)   % returns [0 0 1 0 1]
%
%   See also sb3.predict.

n = size(x, 1);
bad = x < 0 | x >= in.nvec | x ~= round(x);
if any(bad(:))
  error('sb3:predict:badObsValue', ...
        'Discrete observation values must be integers in 0..n-1 (n = %s); got %s.', ...
        mat2str(in.nvec), mat2str(x(find(bad, 1))));
end
y = zeros(n, in.width);
cols = x + in.offsets + 1;
rows = repmat((1:n).', 1, size(x, 2));
y(sub2ind([n, in.width], rows(:), cols(:))) = 1;
end
