function free = free_leaves(where, field, op, float, text, ops)
%FREE_LEAVES Which leaves of a bundle may change between versions of one program.
%
%   FREE = sb3.internal.free_leaves(WHERE, FIELD, OP, FLOAT, TEXT, OPS) takes
%   the leaves' contexts as sb3.internal.bundle_leaves (or
%   sb3.internal.mat5_walk) names them, whether each leaf is a float array
%   (FLOAT) or text (TEXT), and the bundle's ops (a cell of op structs), and
%   returns a logical column: true for what a newer version of the same
%   program holds new values in (the version, timesteps, creation time and
%   run id; the reference; VecNormalize's mean and var; each op's tensors).
%   Every other leaf must stay equal for sb3.poll to reuse the program.
%
%   Usage:
%     free = sb3.internal.free_leaves(where, field, op, float, text, S.ops)
%
%   Example:
%     [leaves, ~, ~, field, where, op] = sb3.internal.bundle_leaves(S, Inf);
%     float = cellfun('isclass', leaves, 'double') | cellfun('isclass', leaves, 'single');
%     free = sb3.internal.free_leaves(where, field, op, float, ...
%                                     cellfun('isclass', leaves, 'char'), S.ops);
%
%   See also sb3.internal.bundle_skeleton, sb3.internal.reload_map.

top = strcmp(where, 'top');
free = (top & float & (strcmp(field, 'version') | strcmp(field, 'num_timesteps'))) | ...
       (top & text & (strcmp(field, 'created') | strcmp(field, 'run_id'))) | ...
       (strcmp(where, 'reference') & ~text) | ...
       (strcmp(where, 'input') & float & (strcmp(field, 'mean') | strcmp(field, 'var')));
tensors = struct('linear', {{'weight', 'bias'}}, 'conv2d', {{'weight', 'bias'}}, ...
                 'prelu', {{'weight'}}, 'layer_norm', {{'weight', 'bias'}}, ...
                 'unscale', {{'low', 'high'}}, 'clip', {{'low', 'high'}}, ...
                 'gaussian_sample', {{'log_std'}}, 'sde_sample', {{'std'}});
for k = 1:numel(ops)
  if isfield(tensors, ops{k}.op)
    free = free | (op == k & float & ismember(field, tensors.(ops{k}.op)));
  end
end
end
