function problem = check_frame_stats(in, frame_shape)
%CHECK_FRAME_STATS Check the VecNormalize statistics a frame stack applies to each frame.
%
%   PROBLEM = sb3.internal.check_frame_stats(IN, FRAME_SHAPE) returns ''
%   when the element IN of a bundle's frame_stack.inputs has normalize 0 or
%   1 and, with 1 (VecNormalize inside the stack), mean and var of real
%   numbers of size 1-by-FRAME_SHAPE (they broadcast over N frames),
%   epsilon and clip_obs real scalars, and var + epsilon not negative (NaN
%   statistics pass: sb3.predict propagates NaN). Otherwise PROBLEM says
%   what is wrong.
%
%   Usage:
%     problem = sb3.internal.check_frame_stats(in, frame_shape)
%
%   Example:
%     in = struct('normalize', 1, 'mean', zeros(1, 3), 'var', ones(1, 3), ...
%                 'epsilon', 1e-8, 'clip_obs', 10);
%     problem = sb3.internal.check_frame_stats(in, 3)   % ''
%
%   See also sb3.internal.check_frame_input, sb3.internal.compile_frame_stack.

problem = '';
v = in.normalize;
if ~(isnumeric(v) || islogical(v)) || ~isscalar(v) || ~isreal(v) || ~(v == 0 || v == 1)
  problem = 'normalize must be 0 or 1';
  return;
end
if v == 0
  return;
end
names = {'mean', 'var', 'epsilon', 'clip_obs'};
if ~all(isfield(in, names))
  problem = 'VecNormalize inside the stack needs mean, var, epsilon and clip_obs';
  return;
end
want = [1, frame_shape];
for j = 1:numel(names)
  x = in.(names{j});
  if ~isfloat(x) || ~isreal(x) || issparse(x)
    problem = sprintf('%s must be real numbers', names{j});
  elseif j <= 2 && ~isequal(sb3.internal.pad_size(size(x), numel(want)), want)
    problem = sprintf('%s must be of size %s (one frame''s statistics); it is %s', names{j}, ...
                      mat2str(want), mat2str(size(x)));
  elseif j > 2 && ~isscalar(x)
    problem = sprintf('%s must be one number', names{j});
  end
  if ~isempty(problem)
    return;
  end
end
if any(in.var(:) + in.epsilon < 0)
  problem = 'var + epsilon must not be negative';
end
end
