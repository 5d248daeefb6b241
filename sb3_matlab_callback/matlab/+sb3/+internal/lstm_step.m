function [y, state] = lstm_step(o, x, state, starts, precision)
%LSTM_STEP One time step of a stacked LSTM, as torch.nn.LSTM, carrying its state.
%
%   [Y, STATE] = sb3.internal.lstm_step(O, X, STATE, STARTS, PRECISION) runs
%   the lstm op O (compiled by sb3.internal.compile_op) on the N-by-in
%   features X. STATE is [] (zeros) or a struct with fields h and c, each
%   num_layers-by-N-by-hidden_size, as SB3's (h, c) tuple. Rows where the
%   N-element logical STARTS is true are reset to zeros first, as SB3's
%   episode_start does. Gates follow torch's order i, f, g, o:
%     gates = x*W_ih' + b_ih + h*W_hh' + b_hh
%     c' = sigmoid(f).*c + sigmoid(i).*tanh(g),  h' = sigmoid(o).*tanh(c')
%   Layer k > 1 takes layer k-1's h' as input. Y is the last layer's h'
%   (N-by-hidden_size) and STATE the new (h, c), both returned as double.
%   A malformed STATE or STARTS raises sb3:predict:badState.
%
%   Example:
%     [y, s] = sb3.internal.lstm_step(policy.det_ops{k}, x, [], [], 'double');
%
%   See also sb3.predict.

n = size(x, 1);
L = o.num_layers;
H = o.hidden_size;
if isempty(state)
  h = zeros(L, n, H);
  c = zeros(L, n, H);
else
  if ~isstruct(state) || ~isfield(state, 'h') || ~isfield(state, 'c') || ...
     numel(state.h) ~= L * n * H || numel(state.c) ~= L * n * H
    error('sb3:predict:badState', ...
          ['''State'' must be [] or a struct with fields h and c, each %d-by-%d-by-%d ' ...
           '(num_layers-by-N-by-hidden_size), as returned by sb3.predict.'], L, n, H);
  end
  h = reshape(double(state.h), L, n, H);
  c = reshape(double(state.c), L, n, H);
end
if ~isempty(starts)
  if numel(starts) ~= n || ~(islogical(starts) || isnumeric(starts))
    error('sb3:predict:badState', ...
          '''EpisodeStart'' must have one element per observation (%d).', n);
  end
  reset = logical(starts(:));
  h(:, reset, :) = 0;
  c(:, reset, :) = 0;
end
for k = 1:L
  layer = o.layers{k};
  hk = cast(reshape(h(k, :, :), n, H), precision);
  ck = cast(reshape(c(k, :, :), n, H), precision);
  g = x * layer.Wih_t + layer.bias_ih + hk * layer.Whh_t + layer.bias_hh;
  ig = 1 ./ (1 + exp(-g(:, 1:H)));
  fg = 1 ./ (1 + exp(-g(:, H + 1:2 * H)));
  gg = tanh(g(:, 2 * H + 1:3 * H));
  og = 1 ./ (1 + exp(-g(:, 3 * H + 1:4 * H)));
  ck = fg .* ck + ig .* gg;
  hk = og .* tanh(ck);
  h(k, :, :) = reshape(double(hk), 1, n, H);
  c(k, :, :) = reshape(double(ck), 1, n, H);
  x = hk;
end
y = x;
state = struct('h', h, 'c', c);
end
