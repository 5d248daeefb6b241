function f = fuse_stage(g, stage)
%FUSE_STAGE Compose one stage of a fused chain onto the handle G (load time).
%
%   F = sb3.internal.fuse_stage(G, STAGE) returns the handle F(X) =
%   STAGE(G(X)), or STAGE(X) when G is []. STAGE (built by
%   sb3.internal.compile_program) is the input preprocessing ('pre'), a
%   linear op with the relu or tanh after it fused in, unscale, clip,
%   hardtanh, relu, tanh, argmax, the final cast to double ('double'), or
%   another elementwise op evaluated by sb3.internal.apply_op. Each stage is
%   a fixed anonymous-function template that captures its constants:
%   nothing is built from text, and a chain of any depth composes.
%
%   Example:
%     o = struct('op', 'linear', 'Wt', eye(2), 'b', [1 1]);
%     f = sb3.internal.fuse_stage([], struct('kind', 'linear', 'o', o, 'act', 'relu', ...
%                                            'o2', [], 'unscale', []));
%     f([-3 2])   % [0 3]
%
%   See also sb3.internal.compile_program.

o = stage.o;
if isempty(g)
  g = @(x) x;
  first = true;
else
  first = false;
end
switch stage.kind
  case 'pre'
    % Normalize in double as VecNormalize does, scale, then cast to the precision.
    sc = o.scale;
    single_out = strcmp(stage.precision, 'single');
    if o.normalize
      mu = o.mean;
      s = o.inv_std;
      hi = o.clip_obs;
      lo = -hi;
      if single_out
        f = @(x) single(min(max((double(x) - mu) .* s, lo), hi) / sc);
      else
        f = @(x) min(max((double(x) - mu) .* s, lo), hi) / sc;
      end
    elseif single_out
      f = @(x) single(double(x) / sc);
    else
      f = @(x) double(x) / sc;
    end
  case 'linear'
    % A linear op with its relu/tanh; maybe a second such layer (o2) or, after tanh,
    % the unscale of a squashed action (SAC): one fixed template per combination.
    W = o.Wt;
    b = o.b;
    if ~isempty(stage.o2)
      W2 = stage.o2.Wt;
      b2 = stage.o2.b;
    end
    if ~isempty(stage.unscale)
      h = stage.unscale.half;
      m = stage.unscale.mid;
    end
    form = sprintf('%s/%d%d%d', stage.act, ~isempty(stage.o2), ~isempty(stage.unscale), first);
    switch form
      case 'relu/001'
        f = @(x) max(x * W + b, 0);
      case 'relu/000'
        f = @(x) max(g(x) * W + b, 0);
      case 'relu/101'
        f = @(x) max(max(x * W + b, 0) * W2 + b2, 0);
      case 'relu/100'
        f = @(x) max(max(g(x) * W + b, 0) * W2 + b2, 0);
      case 'tanh/001'
        f = @(x) tanh(x * W + b);
      case 'tanh/000'
        f = @(x) tanh(g(x) * W + b);
      case 'tanh/101'
        f = @(x) tanh(tanh(x * W + b) * W2 + b2);
      case 'tanh/100'
        f = @(x) tanh(tanh(g(x) * W + b) * W2 + b2);
      case 'tanh/011'
        f = @(x) tanh(x * W + b) .* h + m;
      case 'tanh/010'
        f = @(x) tanh(g(x) * W + b) .* h + m;
      case '/001'
        f = @(x) x * W + b;
      otherwise
        f = @(x) g(x) * W + b;
    end
  case 'unscale'
    half = o.half;
    mid = o.mid;
    if all(mid == 0)
      f = @(x) g(x) .* half;
    else
      f = @(x) g(x) .* half + mid;
    end
  case 'clip'
    low = o.low;
    high = o.high;
    f = @(x) min(max(g(x), low), high);
  case 'hardtanh'
    low = o.min_val;
    high = o.max_val;
    f = @(x) min(max(g(x), low), high);
  case 'relu'
    f = @(x) max(g(x), 0);
  case 'tanh'
    f = @(x) tanh(g(x));
  case 'argmax'
    f = @(x) sb3.internal.argmax_rows(g(x));
  case 'double'
    f = @(x) double(g(x));
  otherwise
    f = @(x) sb3.internal.apply_op(o, g(x), {});
end
end
