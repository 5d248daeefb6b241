function dims = leaf_sizes(leaves)
%LEAF_SIZES The sizes of the values in a column cell, one row each.
%
%   DIMS = sb3.internal.leaf_sizes(LEAVES) returns an N-by-6 matrix for the
%   N-by-1 cell LEAVES: each value's number of dimensions, its size along
%   dimensions 1 to 4 and its number of elements. Two values of at most 4
%   dimensions have the same size exactly when their rows are equal. Only
%   the legacy cellfun names are used, which no object overloads.
%
%   Usage:
%     dims = sb3.internal.leaf_sizes(leaves)
%
%   Example:
%     sb3.internal.leaf_sizes({ones(2, 3); 'abc'})   % [2 2 3 1 1 6; 2 1 3 1 1 3]
%
%   See also sb3.internal.bundle_skeleton, sb3.internal.reload_policy.

dims = [cellfun('ndims', leaves), cellfun('size', leaves, 1), cellfun('size', leaves, 2), ...
        cellfun('size', leaves, 3), cellfun('size', leaves, 4), cellfun('prodofsize', leaves)];
end
