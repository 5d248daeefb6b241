function skel = bundle_skeleton(S, known)
%BUNDLE_SKELETON What a checked bundle's successor must equal for a cheap reload.
%
%   SKEL = sb3.internal.bundle_skeleton(S, KNOWN) describes the bundle
%   variables S, which sb3.load_policy has checked in full, so that
%   sb3.internal.reload_policy can prove cheaply that a newer bundle has
%   the same program: the same variables, containers, field names, leaf
%   classes and sizes (sb3.internal.bundle_leaves), and the same values,
%   except where a newer checkpoint of the same run may differ:
%     - version, num_timesteps, created and run_id;
%     - every number in the reference;
%     - the weights and biases of linear, conv2d, prelu and layer_norm
%       ops, low and high of unscale and clip, log_std of gaussian_sample
%       and std of sde_sample (the checks of these are on sizes only);
%     - the VecNormalize mean and var of an input (checked again on reload).
%   Everything else (op names, fields, registers, shapes, activations'
%   constants, spaces, the critic, the frame stack, ...) must be equal.
%   KNOWN is the list of variable names sb3.load_policy reads. SKEL is []
%   when S holds a value the cheap comparison does not cover (an array of
%   more than 4 dimensions, a complex or sparse array, a 64-bit integer, a
%   struct array): such a bundle is always loaded in full.
%
%   Usage:
%     skel = sb3.internal.bundle_skeleton(S, known)
%
%   Example:
%     S = load('policy.mat');
%     skel = sb3.internal.bundle_skeleton(S, fieldnames(S));
%
%   See also sb3.internal.reload_policy, sb3.internal.bundle_leaves, sb3.load_policy.

skel = [];
[leaves, names, layout, field, where, op] = sb3.internal.bundle_leaves(S, Inf);
if any(isnan(layout))
  return;
end
classes = cellfun(@class, leaves, 'UniformOutput', false);
dims = sb3.internal.leaf_sizes(leaves);
if any(dims(:, 1) > 4) || ~all(cellfun('isreal', leaves)) || any(cellfun(@issparse, leaves)) || ...
   any(strcmp(classes, 'int64') | strcmp(classes, 'uint64'))
  return;
end
float = strcmp(classes, 'double') | strcmp(classes, 'single');
text = strcmp(classes, 'char');
free = sb3.internal.free_leaves(where, field, op, float, text, S.ops);
skel = struct();
skel.known = known;
skel.names = names;
skel.layout = layout;
skel.count = numel(leaves);
skel.class_names = unique(classes);
skel.class_masks = cell(size(skel.class_names));
for j = 1:numel(skel.class_names)
  skel.class_masks{j} = strcmp(classes, skel.class_names{j});
end
skel.dims = dims;
skel.text = text & ~free;
skel.text_values = leaves(skel.text);
skel.numbers = ~text & ~free;
skel.number_text = sprintf('%.17g,', leaves{skel.numbers});
% The ops whose constants may differ, and the inputs whose statistics may.
skel.tensor_ops = unique(op(free & op > 0)).';
skel.inputs_free = any(free & strcmp(where, 'input'));
end
