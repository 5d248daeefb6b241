function [out, problem] = check_op(o, shapes)
%CHECK_OP Check one op of a bundle's program against the shapes of its input registers.
%
%   [OUT, PROBLEM] = sb3.internal.check_op(O, SHAPES) checks the op struct O
%   (as stored in the bundle) whose input registers have the shapes SHAPES
%   (a cell, one per input: d for an N-by-d register, [H W C] for an
%   image). It returns the shape OUT of the register the op writes and
%   PROBLEM = '', or PROBLEM saying what is wrong: 'unknown' for an op name
%   this runtime does not know, else the field or size at fault (weights
%   that do not fit the input width, a field that is missing, not numeric,
%   complex or sparse, ...). NaN and Inf are allowed: sb3.predict
%   propagates them as torch does. The ops and their fields are those of
%   docs/bundle-format.md.
%
%   Usage:
%     [out, problem] = sb3.internal.check_op(o, shapes)
%
%   Example:
%     o = struct('op', 'linear', 'inputs', 1, 'output', 2, 'mode', 'always', ...
%                'weight', ones(4, 3), 'bias', zeros(1, 4));
%     [out, problem] = sb3.internal.check_op(o, {3})   % out = 4, problem = ''
%
%   See also sb3.internal.check_program, sb3.internal.compile_op.

out = [];
problem = '';
% Every field: real full numbers, text, or (lstm) a cell of layers. Classes are asked with
% class(), which no object overloads. NaN and Inf are numbers: sb3.predict propagates them.
values = struct2cell(o);
for j = 1:numel(values)
  v = values{j};
  c = class(v);
  if ~(strcmp(c, 'char') || (strcmp(c, 'cell') && strcmp(o.op, 'lstm')) || ...
       ((strcmp(c, 'double') || strcmp(c, 'single') || strcmp(c, 'logical')) && ...
        isreal(v) && ~issparse(v)))
    names = fieldnames(o);
    problem = sprintf('%s must be real numbers (it is %s)', names{j}, c);
    return;
  end
end
x = shapes{1};
flat = numel(x) == 1;
w = prod(x);
% Fields whose sizes follow from the input width.
need = {};
sizes = [];
switch o.op
  case {'relu', 'tanh', 'sigmoid', 'selu', 'silu', 'mish', 'gelu', 'gelu_tanh', 'softsign', ...
        'hardsigmoid', 'hardswish', 'logsigmoid', 'tanhshrink', 'binary', 'bernoulli_sample'}
    out = x;
  case {'elu', 'celu'}
    need = {'alpha'};
    sizes = 1;
    out = x;
  case 'leaky_relu'
    need = {'negative_slope'};
    sizes = 1;
    out = x;
  case {'softshrink', 'hardshrink'}
    need = {'lambd'};
    sizes = 1;
    out = x;
  case 'softplus'
    need = {'beta', 'threshold'};
    sizes = [1 1];
    out = x;
  case 'hardtanh'
    need = {'min_val', 'max_val'};
    sizes = [1 1];
    out = x;
  case 'threshold'
    need = {'threshold', 'value'};
    sizes = [1 1];
    out = x;
  case 'prelu'
    out = x;
    if ~isfield(o, 'weight') || ~isnumeric(o.weight) || ~(numel(o.weight) == 1 || ...
                                                          (flat && numel(o.weight) == w))
      problem = sprintf('weight must hold 1 or %d numbers (the input width)', w);
    end
  case 'linear'
    if ~flat
      problem = 'its input is an image register; flatten it first';
    elseif ~isfield(o, 'weight') || ~isnumeric(o.weight) || ~ismatrix(o.weight) || ...
           size(o.weight, 2) ~= w || size(o.weight, 1) < 1
      problem = sprintf('weight must be out-by-%d (its input register is %d wide)', w, w);
    else
      out = size(o.weight, 1);
      need = {'bias'};
      sizes = out;
    end
  case {'unscale', 'clip'}
    need = {'low', 'high'};
    sizes = [w w];
    out = x;
  case {'argmax', 'categorical_sample'}
    out = 1;
  case {'multi_argmax', 'multi_categorical_sample'}
    if ~isfield(o, 'nvec') || ~isnumeric(o.nvec) || isempty(o.nvec) || ...
       any(o.nvec(:) < 1 | o.nvec(:) ~= fix(o.nvec(:))) || sum(o.nvec(:)) ~= w
      problem = sprintf('nvec must be positive whole numbers that sum to the input width %d', w);
    else
      out = numel(o.nvec);
    end
  case 'mask_logits'
    out = x;
  case 'concat'
    if ~all(cellfun('prodofsize', shapes) == 1)
      problem = 'concat takes flat registers only';
    else
      out = sum([shapes{:}]);
    end
  case 'flatten'
    out = w;
  case 'gaussian_sample'
    out = x;
    if numel(shapes) >= 2 && ~(numel(shapes{2}) == 1 && flat && shapes{2} == w)
      problem = sprintf('its log_std register must be %d wide, as its input', w);
    elseif numel(shapes) < 2
      need = {'log_std'};
      sizes = w;
    end
  case 'sde_sample'
    out = x;
    if numel(shapes) < 2 || numel(shapes{2}) ~= 1 || ~isfield(o, 'std') || ...
       ~isnumeric(o.std) || ~ismatrix(o.std) || any(size(o.std) ~= [shapes{2}, w])
      problem = 'it needs a latent register and std of size latent-by-input width';
    end
  case 'batch_norm'
    need = {'mean', 'var', 'weight', 'bias', 'eps'};
    sizes = [w w w w 1];
    out = x;
  case 'layer_norm'
    need = {'weight', 'bias', 'eps'};
    sizes = [w w 1];
    out = x;
  case 'mean'
    % Each row viewed in C order as shape, averaged over torch dimension dim.
    if ~all(isfield(o, {'shape', 'dim'})) || ~isnumeric(o.shape) || isempty(o.shape) || ...
       any(o.shape(:) < 1 | o.shape(:) ~= fix(o.shape(:))) || prod(o.shape(:)) ~= w || ...
       ~sb3.internal.is_whole(o.dim, 0) || o.dim >= numel(o.shape)
      problem = sprintf(['shape must be whole numbers whose product is the input width %d, ' ...
                         'and dim one of its dimensions (0-based)'], w);
    else
      out = w / o.shape(o.dim + 1);
    end
  case 'conv2d'
    [out, problem] = sb3.internal.check_conv2d(o, x);
  case 'lstm'
    [out, problem] = sb3.internal.check_lstm(o, w);
  case 'epsilon_greedy'
    need = {'epsilon', 'n'};
    sizes = [1 1];
    out = x;
  otherwise
    problem = 'unknown';
    return;
end
flat_only = {'unscale', 'clip', 'argmax', 'multi_argmax', 'categorical_sample', ...
             'multi_categorical_sample', 'mask_logits', 'gaussian_sample', 'sde_sample', ...
             'batch_norm', 'layer_norm', 'mean', 'lstm', 'epsilon_greedy'};
if isempty(problem) && ~flat && any(strcmp(o.op, flat_only))
  problem = 'its input is an image register; flatten it first';
end
for j = 1:numel(need)
  if ~isempty(problem)
    break;
  end
  if ~isfield(o, need{j}) || ~isnumeric(o.(need{j})) || numel(o.(need{j})) ~= sizes(j)
    problem = sprintf('%s must hold %d number(s) (input width %d)', need{j}, sizes(j), w);
  end
end
if ~isempty(problem)
  return;
end
% Values that would divide by zero or leave their range.
if (strcmp(o.op, 'celu') && o.alpha == 0) || (strcmp(o.op, 'softplus') && o.beta == 0)
  problem = 'alpha (celu) and beta (softplus) must be non-zero';
elseif strcmp(o.op, 'batch_norm') && any(o.var(:) + o.eps(1) < 0)
  problem = 'var + eps must not be negative';
elseif strcmp(o.op, 'epsilon_greedy') && ~(o.epsilon >= 0 && o.epsilon <= 1 && ...
                                           sb3.internal.is_whole(o.n, 1))
  problem = 'epsilon must be in 0..1 and n a positive whole number';
end
end
