function [key, problem] = check_frame_input(in, n_stack, inputs)
%CHECK_FRAME_INPUT Check one stacked observation of a bundle's frame_stack against its input.
%
%   [KEY, PROBLEM] = sb3.internal.check_frame_input(IN, N_STACK, INPUTS)
%   returns the Dict key KEY ('' for a plain observation) of the element IN
%   of frame_stack.inputs and PROBLEM = '' when:
%     - IN is a struct with the text fields key and field, frame_shape (a
%       row of positive whole numbers), axis (a dimension of frame_shape)
%       and normalize (0 or 1);
%     - its key names exactly one of the (checked) observation INPUTS, of
%       kind 'box' or 'image', and for a Dict key, field is that input's
%       MATLAB struct field;
%     - frame_shape with frame_shape(axis) * N_STACK at axis is the shape
%       that input takes (for an image, in its layout [H W C] or [C H W]);
%     - with normalize, mean and var are real numbers of size
%       1-by-frame_shape, epsilon and clip_obs real scalars, and var +
%       epsilon is not negative.
%   Otherwise PROBLEM says what is wrong.
%
%   Usage:
%     [key, problem] = sb3.internal.check_frame_input(in, n_stack, inputs)
%
%   Example:
%     in = struct('key', '', 'field', '', 'frame_shape', 3, 'axis', 1, 'normalize', 0);
%     input = struct('key', '', 'kind', 'box', 'output', 1, 'shape', 9);
%     [key, problem] = sb3.internal.check_frame_input(in, 3, {input})   % '', ''
%
%   See also sb3.internal.check_frame_stack, sb3.internal.compile_frame_stack.

key = '';
problem = '';
if ~isstruct(in) || ~isscalar(in) || ...
   ~all(isfield(in, {'key', 'field', 'frame_shape', 'axis', 'normalize'})) || ...
   ~ischar(in.key) || ~ischar(in.field) || size(in.key, 1) > 1
  problem = 'must be a struct with the text fields key and field, frame_shape, axis and normalize';
  return;
end
key = in.key;
s = in.frame_shape;
if ~isnumeric(s) || ~isreal(s) || isempty(s) || ~isvector(s) || numel(s) > 8 || ...
   any(s(:) < 1 | s(:) ~= fix(s(:)) | s(:) > 2^31)
  problem = 'frame_shape must be a row of positive whole numbers';
  return;
end
s = double(s(:).');
if ~sb3.internal.is_whole(in.axis, 1) || in.axis > numel(s)
  problem = sprintf('axis must be a dimension of frame_shape, 1..%d', numel(s));
  return;
end
stacked = s;
stacked(in.axis) = s(in.axis) * n_stack;
match = find(cellfun(@(p) strcmp(p.key, key), inputs));
if numel(match) ~= 1
  problem = sprintf('key ''%s'' must name one observation input', key);
  return;
end
p = inputs{match};
field = p.key;
if isfield(p, 'field') && ~isempty(p.field)
  field = p.field;
end
if ~isempty(key) && ~(strcmp(in.field, field) && isvarname(field))
  problem = sprintf('field must be ''%s'', the struct field of Dict key ''%s''', field, key);
  return;
end
shape = double(p.shape(:).');
takes = {shape};
if strcmp(p.kind, 'image')
  takes = {shape([2 3 1]), shape};
  if strcmp(p.layout, 'CHW')
    takes = fliplr(takes);
  end
  if ~(isfield(p, 'transposable') && isscalar(p.transposable) && p.transposable ~= 0)
    takes = takes(1);
  end
elseif ~strcmp(p.kind, 'box')
  problem = sprintf('its observation input is of kind ''%s''; a frame stack takes Box frames', ...
                    p.kind);
  return;
end
if ~any(cellfun(@(t) isequal(t, stacked), takes))
  problem = sprintf(['%d frames of shape %s stacked along axis %d give %s, but the ' ...
                     'observation input takes %s'], n_stack, mat2str(s), in.axis, ...
                    mat2str(stacked), mat2str(takes{1}));
  return;
end
problem = sb3.internal.check_frame_stats(in, s);
end
