function [reg, shape, problem] = check_input(in, nreg)
%CHECK_INPUT Check one observation input of a bundle; return its register and shape.
%
%   [REG, SHAPE, PROBLEM] = sb3.internal.check_input(IN, NREG) returns the
%   register REG that input IN fills and the SHAPE of that register (d for
%   an N-by-d register, [H W C] for an image), with PROBLEM = ''; or
%   PROBLEM saying what is wrong: an unknown kind, a register outside
%   1..NREG, a shape that is not whole numbers, an image without a layout or
%   with a transposable flag that is not one number, nvec that does not
%   match the shape ('onehot'), a zero or non-finite scale, VecNormalize statistics
%   whose sizes differ from the observation's or whose variance plus
%   epsilon is negative. NaN statistics pass: sb3.predict propagates NaN.
%
%   Usage:
%     [reg, shape, problem] = sb3.internal.check_input(in, nreg)
%
%   Example:
%     [r, s, p] = sb3.internal.check_input(struct('key', '', 'kind', 'box', ...
%                   'output', 1, 'shape', 3, 'scale', 1, 'normalize', 0), 2);
%
%   See also sb3.internal.check_program, sb3.internal.compile_input.

reg = 0;
shape = [];
problem = '';
if ~isstruct(in) || ~isscalar(in) || ~all(isfield(in, {'key', 'kind', 'output', 'shape'})) || ...
   ~ischar(in.key) || ~ischar(in.kind) || (isfield(in, 'field') && ~ischar(in.field))
  problem = 'must be a struct with the text fields key and kind, output and shape';
  return;
end
if ~sb3.internal.is_whole(in.output, 1) || in.output > nreg
  problem = sprintf('output must be a register in 1..%d', nreg);
  return;
end
reg = double(in.output);
s = in.shape;
if ~isnumeric(s) || ~isreal(s) || (~isempty(s) && ~isvector(s)) || numel(s) > 8 || ...
   any(s(:) < 1 | s(:) ~= fix(s(:)) | s(:) > 2^31)
  problem = 'shape must be a row of positive whole numbers';
  return;
end
s = double(s(:).');
d = prod(s);
if d > 2^31
  problem = 'shape is too large';
  return;
end
switch in.kind
  case {'box', 'onehot'}
    shape = d;
  case 'image'
    if numel(s) ~= 3 || ~isfield(in, 'layout') || ~any(strcmp(in.layout, {'HWC', 'CHW'}))
      problem = 'an image has a shape [C H W] and a layout ''HWC'' or ''CHW''';
      return;
    end
    t = 0;
    if isfield(in, 'transposable')
      t = in.transposable;
    end
    if ~(isnumeric(t) || islogical(t)) || ~isscalar(t) || ~isreal(t) || isnan(t)
      problem = 'transposable must be 0 or 1';
      return;
    end
    shape = s([2 3 1]);
  otherwise
    problem = sprintf('unknown kind ''%s''', in.kind);
    return;
end
if strcmp(in.kind, 'onehot')
  v = [];
  if isfield(in, 'nvec')
    v = in.nvec;
  end
  if ~isnumeric(v) || ~isreal(v) || numel(v) ~= d || any(v(:) < 1 | v(:) ~= fix(v(:)) | v(:) > 2^31)
    problem = sprintf('nvec must hold %d positive whole numbers', d);
    return;
  end
  shape = sum(double(v(:)));
end
if isfield(in, 'scale') && ~(isnumeric(in.scale) && isscalar(in.scale) && isreal(in.scale) && ...
                             isfinite(in.scale) && in.scale ~= 0)
  problem = 'scale must be a finite non-zero number';
  return;
end
if ~isfield(in, 'normalize') || ~(isnumeric(in.normalize) || islogical(in.normalize)) || ...
   ~isscalar(in.normalize) || in.normalize == 0
  return;
end
if ~all(isfield(in, {'mean', 'var', 'epsilon', 'clip_obs'}))
  problem = 'VecNormalize needs mean, var, epsilon and clip_obs';
  return;
end
fields = {in.mean, in.var, in.epsilon, in.clip_obs};
sizes = [d, d, 1, 1];
for j = 1:4
  v = fields{j};
  if ~isfloat(v) || ~isreal(v) || issparse(v) || numel(v) ~= sizes(j)
    problem = sprintf(['VecNormalize mean and var must hold %d numbers, epsilon and ' ...
                       'clip_obs one'], d);
    return;
  end
end
if any(in.var(:) + in.epsilon < 0)
  problem = 'VecNormalize var + epsilon must not be negative';
  return;
end
if strcmp(in.kind, 'image')
  sz = size(in.mean);
  sz(end + 1:4) = 1;
  if numel(sz) > 4 || ~isequal(sz(1:4), [1 shape]) || ~isequal(size(in.var), size(in.mean))
    problem = sprintf('image VecNormalize statistics must be 1-by-%d-by-%d-by-%d', shape);
  end
end
end
