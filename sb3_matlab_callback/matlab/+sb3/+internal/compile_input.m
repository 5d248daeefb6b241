function in = compile_input(in)
%COMPILE_INPUT Precompute one observation input spec of a bundle (load time).
%
%   IN = sb3.internal.compile_input(IN) adds the fields sb3.predict uses on
%   every call: d (flat size per observation), flat (per-observation shape is
%   a vector), spatial (an 'image' input, a 3-D Box kept N-by-H-by-W-by-C),
%   is_dict, field (the struct field of a Dict key; the key itself in bundles
%   written before field names were recorded) and, for VecNormalize, inv_std.
%
%   Example:
%     in = sb3.internal.compile_input(struct('key', '', 'kind', 'box', ...
%            'output', 1, 'shape', 3, 'scale', 1, 'normalize', 0));
%
%   See also sb3.load_policy.

shape = double(in.shape(:).');
in.shape = shape;
if isempty(shape)
  in.d = 1;
else
  in.d = prod(shape);
end
in.flat = numel(shape) <= 1;
in.spatial = strcmp(in.kind, 'image');
if in.spatial
  in.transposable = isfield(in, 'transposable') && in.transposable ~= 0;
end
in.is_dict = ~isempty(in.key);
if ~isfield(in, 'field') || isempty(in.field)
  in.field = in.key;  % bundles before Dict field names: the key is the field
end
if strcmp(in.kind, 'onehot')
  in.nvec = double(in.nvec(:).');
  in.offsets = [0, cumsum(in.nvec(1:end - 1))];
  in.width = sum(in.nvec);
end
in.normalize = isfield(in, 'normalize') && in.normalize ~= 0;
if in.normalize && in.spatial
  % 1 x H x W x C statistics, broadcast over the N x H x W x C image batch.
  in.mean = double(in.mean);
  in.inv_std = 1 ./ sqrt(double(in.var) + in.epsilon);
elseif in.normalize
  in.mean = reshape(double(in.mean), 1, []);
  in.inv_std = 1 ./ sqrt(reshape(double(in.var), 1, []) + in.epsilon);
end
if ~isfield(in, 'scale')
  in.scale = 1;
end
end
