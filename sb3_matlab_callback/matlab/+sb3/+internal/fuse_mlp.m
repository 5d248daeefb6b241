function [f, fb] = fuse_mlp(stages, precision, d)
%FUSE_MLP One anonymous function for a whole two-hidden-layer network (load time).
%
%   [F, FB] = sb3.internal.fuse_mlp(STAGES, PRECISION, D) returns handles
%   that compute the chain STAGES (built by sb3.internal.compile_program,
%   without input preprocessing) in one fixed expression each, or [] when
%   STAGES is not of this form: two linear layers with the same activation
%   (relu or tanh), an output linear layer, then nothing, tanh (with or
%   without unscale), clip or argmax. This is the network of every SB3
%   algorithm's default net_arch. F(X) takes one 1-by-D row and fails for
%   anything else (a batch, or a scalar where D > 1); FB(X) takes N-by-D
%   rows and fails for a narrower array. X may be double or single; both
%   return double. With PRECISION 'single' the network runs in single (a
%   double X meets single weights) and the result is cast to double; with
%   'double' X is cast to double first. Argmax gives double indices either
%   way.
%
%   One expression instead of nested handles saves Octave a call per layer
%   (1.5 to 2 us each), and F's folded biases save it an addition per layer.
%   Nothing is built from text: each form is written out below and captures
%   its constants. Like every fused handle, F and FB compute relu with max, so
%   they run only within the bound compile_program proved.
%
%   Example:
%     W = single(eye(2)); b = single([0 0]);
%     lin = @(act) struct('kind', 'linear', 'o', struct('Wt', W, 'b', b), 'act', act);
%     [f, fb] = sb3.internal.fuse_mlp({lin('relu'), lin('relu'), lin('')}, 'single', 2);
%     f([-1 2])          % [0 2], double
%     fb([-1 2; 3 -4])   % [0 2; 3 0]
%
%   See also sb3.internal.compile_program, sb3.internal.fuse_stage.

f = [];
fb = [];
n = numel(stages);
if n < 3 || n > 4
  return;
end
% Plain indexing, no cellfun with an anonymous function (Octave: ~10 us per call).
s1 = stages{1};
s2 = stages{2};
s3 = stages{3};
act = s1.act;
if ~strcmp(s1.kind, 'linear') || ~strcmp(s2.kind, 'linear') || ~strcmp(s3.kind, 'linear') || ...
   ~any(strcmp(act, {'relu', 'tanh'})) || ~strcmp(s2.act, act) || ...
   ~any(strcmp(s3.act, {'', 'tanh'}))
  return;
end
W1 = s1.o.Wt;
b1 = s1.o.b;
W2 = s2.o.Wt;
b2 = s2.o.b;
W3 = s3.o.Wt;
b3 = s3.o.b;
c = 1:d;  % fb's x(:, c) fails for a scalar or a narrower array, which would broadcast
tanh_out = strcmp(s3.act, 'tanh');
% The head: tanh alone is an unscale with half 1 and mid 0 (exact). ones and zeros with a
% class name are builtins (Octave's cast is an m-file, about 15 us a call).
h = ones(1, 1, class(b3));
m = zeros(1, 1, class(b3));
if n == 3
  head = 'plain';
  if tanh_out
    head = 'unscale';
  end
else
  head = stages{4}.kind;
  if ~any(strcmp(head, {'unscale', 'clip', 'argmax'})) || tanh_out ~= strcmp(head, 'unscale')
    return;
  end
  o = stages{4}.o;
  if strcmp(head, 'unscale')
    h = o.half;
    m = o.mid;
  elseif strcmp(head, 'clip')
    lo = o.low;
    hi = o.high;
  end
end
if strcmp(head, 'unscale') && all(m == 0)
  head = 'half';  % a symmetric action range: no mid to add
end
% F, for one row, has the biases in the weights: [x, 1] * [W1; b1] is x * W1 + b1 in one
% product, and relu keeps a trailing 1 (a 'carrier' column [0 ... 0 1]') exact for the
% next layer's bias row. tanh does not keep 1: tanh networks fold the first bias only.
% [x, 1] also makes F take exactly one row: a scalar or a batch fails it.
A1 = [W1; b1];
if strcmp(act, 'relu')
  one = ones(1, 1, class(b3));
  A1 = [A1, [zeros(size(W1, 1), 1, class(b3)); one]];
  A2 = [W2, zeros(size(W2, 1), 1, class(b3)); b2, one];
  A3 = [W3; b3];
end
switch [act, '/', head, '/', precision]
  case 'relu/plain/single'
    f = @(x) double(max(max([x, 1] * A1, 0) * A2, 0) * A3);
    fb = @(x) double(max(max(x(:, c) * W1 + b1, 0) * W2 + b2, 0) * W3 + b3);
  case 'relu/unscale/single'
    f = @(x) double(tanh(max(max([x, 1] * A1, 0) * A2, 0) * A3) .* h + m);
    fb = @(x) double(tanh(max(max(x(:, c) * W1 + b1, 0) * W2 + b2, 0) * W3 + b3) .* h + m);
  case 'relu/half/single'
    f = @(x) double(tanh(max(max([x, 1] * A1, 0) * A2, 0) * A3) .* h);
    fb = @(x) double(tanh(max(max(x(:, c) * W1 + b1, 0) * W2 + b2, 0) * W3 + b3) .* h);
  case 'relu/clip/single'
    f = @(x) double(min(max(max(max([x, 1] * A1, 0) * A2, 0) * A3, lo), hi));
    fb = @(x) double(min(max(max(max(x(:, c) * W1 + b1, 0) * W2 + b2, 0) * W3 + b3, lo), hi));
  case 'relu/argmax/single'
    f = @(x) sb3.internal.argmax_rows(max(max([x, 1] * A1, 0) * A2, 0) * A3);
    fb = @(x) sb3.internal.argmax_rows(max(max(x(:, c) * W1 + b1, 0) * W2 + b2, 0) * W3 + b3);
  case 'tanh/plain/single'
    f = @(x) double(tanh(tanh([x, 1] * A1) * W2 + b2) * W3 + b3);
    fb = @(x) double(tanh(tanh(x(:, c) * W1 + b1) * W2 + b2) * W3 + b3);
  case 'tanh/unscale/single'
    f = @(x) double(tanh(tanh(tanh([x, 1] * A1) * W2 + b2) * W3 + b3) .* h + m);
    fb = @(x) double(tanh(tanh(tanh(x(:, c) * W1 + b1) * W2 + b2) * W3 + b3) .* h + m);
  case 'tanh/half/single'
    f = @(x) double(tanh(tanh(tanh([x, 1] * A1) * W2 + b2) * W3 + b3) .* h);
    fb = @(x) double(tanh(tanh(tanh(x(:, c) * W1 + b1) * W2 + b2) * W3 + b3) .* h);
  case 'tanh/clip/single'
    f = @(x) double(min(max(tanh(tanh([x, 1] * A1) * W2 + b2) * W3 + b3, lo), hi));
    fb = @(x) double(min(max(tanh(tanh(x(:, c) * W1 + b1) * W2 + b2) * W3 + b3, lo), hi));
  case 'tanh/argmax/single'
    f = @(x) sb3.internal.argmax_rows(tanh(tanh([x, 1] * A1) * W2 + b2) * W3 + b3);
    fb = @(x) sb3.internal.argmax_rows(tanh(tanh(x(:, c) * W1 + b1) * W2 + b2) * W3 + b3);
  case 'relu/plain/double'
    f = @(x) max(max([double(x), 1] * A1, 0) * A2, 0) * A3;
    fb = @(x) max(max(double(x(:, c)) * W1 + b1, 0) * W2 + b2, 0) * W3 + b3;
  case 'relu/unscale/double'
    f = @(x) tanh(max(max([double(x), 1] * A1, 0) * A2, 0) * A3) .* h + m;
    fb = @(x) tanh(max(max(double(x(:, c)) * W1 + b1, 0) * W2 + b2, 0) * W3 + b3) .* h + m;
  case 'relu/half/double'
    f = @(x) tanh(max(max([double(x), 1] * A1, 0) * A2, 0) * A3) .* h;
    fb = @(x) tanh(max(max(double(x(:, c)) * W1 + b1, 0) * W2 + b2, 0) * W3 + b3) .* h;
  case 'relu/clip/double'
    f = @(x) min(max(max(max([double(x), 1] * A1, 0) * A2, 0) * A3, lo), hi);
    fb = @(x) min(max(max(max(double(x(:, c)) * W1 + b1, 0) * W2 + b2, 0) * W3 + b3, lo), hi);
  case 'relu/argmax/double'
    f = @(x) sb3.internal.argmax_rows(max(max([double(x), 1] * A1, 0) * A2, 0) * A3);
    fb = @(x) sb3.internal.argmax_rows(max(max(double(x(:, c)) * W1 + b1, 0) * W2 + b2, 0) * ...
                                       W3 + b3);
  case 'tanh/plain/double'
    f = @(x) tanh(tanh([double(x), 1] * A1) * W2 + b2) * W3 + b3;
    fb = @(x) tanh(tanh(double(x(:, c)) * W1 + b1) * W2 + b2) * W3 + b3;
  case 'tanh/unscale/double'
    f = @(x) tanh(tanh(tanh([double(x), 1] * A1) * W2 + b2) * W3 + b3) .* h + m;
    fb = @(x) tanh(tanh(tanh(double(x(:, c)) * W1 + b1) * W2 + b2) * W3 + b3) .* h + m;
  case 'tanh/half/double'
    f = @(x) tanh(tanh(tanh([double(x), 1] * A1) * W2 + b2) * W3 + b3) .* h;
    fb = @(x) tanh(tanh(tanh(double(x(:, c)) * W1 + b1) * W2 + b2) * W3 + b3) .* h;
  case 'tanh/clip/double'
    f = @(x) min(max(tanh(tanh([double(x), 1] * A1) * W2 + b2) * W3 + b3, lo), hi);
    fb = @(x) min(max(tanh(tanh(double(x(:, c)) * W1 + b1) * W2 + b2) * W3 + b3, lo), hi);
  otherwise  % 'tanh/argmax/double'
    f = @(x) sb3.internal.argmax_rows(tanh(tanh([double(x), 1] * A1) * W2 + b2) * W3 + b3);
    fb = @(x) sb3.internal.argmax_rows(tanh(tanh(double(x(:, c)) * W1 + b1) * W2 + b2) * W3 + b3);
end
end
