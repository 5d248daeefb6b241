function fs = compile_frame_stack(raw)
%COMPILE_FRAME_STACK Precompute a bundle's frame stack (VecFrameStack) at load time.
%
%   FS = sb3.internal.compile_frame_stack(RAW) turns the bundle variable
%   frame_stack into the struct sb3.internal.frame_stack uses on every call:
%   n_stack (0: no stack) and one element of inputs per stacked observation
%   (or Dict key), with key, field, is_dict, frame_shape (one frame as the
%   env gives it), dim (the batch dimension frames are stacked along: one
%   frame's stack axis plus one), frame_len, stacked_shape and, when
%   VecNormalize sits inside the stack, mean, var (for sb3.params), inv_std
%   and clip_obs of one frame.
%
%   Example:
%     fs = sb3.internal.compile_frame_stack(struct('n_stack', 0, 'inputs', {{}}));
%
%   See also sb3.load_policy, sb3.internal.frame_stack.

fs = struct('n_stack', 0, 'inputs', {{}});
if ~isstruct(raw) || ~isfield(raw, 'n_stack') || raw.n_stack == 0
  return;
end
fs.n_stack = double(raw.n_stack);
items = raw.inputs;
if isstruct(items)
  items = {items};
end
for i = 1:numel(items)
  in = items{i};
  c = struct();
  c.key = in.key;
  c.field = in.field;
  c.is_dict = ~isempty(in.key);
  c.frame_shape = double(in.frame_shape(:).');
  axis = double(in.axis);
  c.dim = axis + 1;
  c.frame_len = c.frame_shape(axis);
  c.stacked_shape = c.frame_shape;
  c.stacked_shape(axis) = c.frame_len * fs.n_stack;
  c.normalize = in.normalize ~= 0;
  if c.normalize
    c.mean = double(in.mean);
    c.var = double(in.var);
    c.inv_std = 1 ./ sqrt(double(in.var) + double(in.epsilon));
    c.clip_obs = double(in.clip_obs);
  end
  fs.inputs{i} = c;
end
end
