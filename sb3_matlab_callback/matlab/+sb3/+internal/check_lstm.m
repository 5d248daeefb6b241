function [out, problem] = check_lstm(o, w)
%CHECK_LSTM Check an lstm op against its input width; return the output width.
%
%   [OUT, PROBLEM] = sb3.internal.check_lstm(O, W) checks the lstm op O of a
%   bundle whose input register is W wide: num_layers L and hidden_size H
%   are positive whole numbers, layers is a cell of L structs, and layer k
%   has weight_ih 4H-by-in (in = W for the first layer, H after), weight_hh
%   4H-by-H, and bias_ih and bias_hh of 4H real numbers each. OUT is
%   H and PROBLEM ''; otherwise PROBLEM says what is wrong.
%
%   Usage:
%     [out, problem] = sb3.internal.check_lstm(o, w)
%
%   Example:
%     layer = struct('weight_ih', ones(8, 3), 'weight_hh', ones(8, 2), ...
%                    'bias_ih', zeros(1, 8), 'bias_hh', zeros(1, 8));
%     o = struct('num_layers', 1, 'hidden_size', 2, 'layers', {{layer}});
%     out = sb3.internal.check_lstm(o, 3)   % 2
%
%   See also sb3.internal.check_op, sb3.internal.lstm_step.

out = [];
problem = '';
if ~all(isfield(o, {'num_layers', 'hidden_size', 'layers'})) || ...
   ~sb3.internal.is_whole(o.num_layers, 1) || ~sb3.internal.is_whole(o.hidden_size, 1) || ...
   ~iscell(o.layers) || numel(o.layers) ~= o.num_layers
  problem = 'it needs whole num_layers and hidden_size and a cell of num_layers layers';
  return;
end
h = double(o.hidden_size);
in = w;
for k = 1:numel(o.layers)
  layer = o.layers{k};
  names = {'weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'};
  sizes = {[4 * h, in], [4 * h, h], 4 * h, 4 * h};
  if ~isstruct(layer) || ~isscalar(layer) || ~all(isfield(layer, names))
    problem = sprintf('layer %d must be a struct with %s', k, strjoin(names, ', '));
    return;
  end
  for j = 1:4
    v = layer.(names{j});
    if ~(isa(v, 'double') || isa(v, 'single')) || ~isreal(v) || issparse(v) || ...
       (numel(sizes{j}) == 2 && ~isequal(size(v), sizes{j})) || numel(v) ~= prod(sizes{j})
      problem = sprintf('layer %d: %s must be %s real numbers', k, names{j}, ...
                        strjoin(arrayfun(@num2str, sizes{j}, 'UniformOutput', false), '-by-'));
      return;
    end
  end
  in = h;
end
out = h;
end
