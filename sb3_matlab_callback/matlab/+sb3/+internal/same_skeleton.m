function same = same_skeleton(S, skel)
%SAME_SKELETON Whether loaded bundle variables S are of the program SKEL describes.
%
%   SAME = sb3.internal.same_skeleton(S, SKEL) is true when S (as load returned
%   it) has the containers, field names, classes, sizes and values of the
%   bundle SKEL was made from (sb3.internal.bundle_skeleton), the values that
%   a newer version changes aside (sb3.internal.free_leaves).
%
%   Usage:
%     same = sb3.internal.same_skeleton(S, skel)
%
%   Example:
%     if sb3.internal.same_skeleton(S, old.skeleton), disp('same program'); end
%
%   See also sb3.internal.bundle_skeleton, sb3.internal.reload_policy.

same = false;
% The same containers and field names, then the same classes (first: nothing else is
% asked of a value of another class), sizes, and values where they must not differ.
[leaves, names, layout] = sb3.internal.bundle_leaves(S, numel(skel.layout));
if numel(layout) ~= numel(skel.layout) || ~all(layout == skel.layout) || ...
   numel(names) ~= numel(skel.names) || ~all(strcmp(names, skel.names)) || ...
   numel(leaves) ~= skel.count
  return;
end
% Only a double or logical value may be sparse (cellfun's issparse is no legacy name: a
% call per value).
for j = 1:numel(skel.class_names)
  mask = skel.class_masks{j};
  if ~all(cellfun('isclass', leaves, skel.class_names{j}) == mask) || ...
     (any(strcmp(skel.class_names{j}, {'double', 'logical'})) && ...
      any(cellfun(@issparse, leaves(mask))))
    return;
  end
end
same = all(all(sb3.internal.leaf_sizes(leaves) == skel.dims)) && ...
       all(cellfun('isreal', leaves)) && all(strcmp(leaves(skel.text), skel.text_values)) && ...
       strcmp(sprintf('%.17g,', leaves{skel.numbers}), skel.number_text);
end
