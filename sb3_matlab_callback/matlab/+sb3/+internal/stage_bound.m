function [b, out] = stage_bound(stage, b)
%STAGE_BOUND Bound on |output| of one fused stage, given the bound B on |input|.
%
%   B = sb3.internal.stage_bound(STAGE, B) returns an upper bound on the
%   magnitude of every element STAGE computes (see
%   sb3.internal.compile_program) when every input element is at most B in
%   magnitude. It returns NaN when the stage has a NaN constant (for a
%   linear stage: a NaN weight or bias of its layers), when the op
%   has no known bound, or when the bound exceeds 1e30: sb3.load_policy then
%   uses no fast path. Bounds are rounded up by 1% for float arithmetic.
%   B may be a vector of candidate bounds, each bounded on its own (one
%   call per stage, however many candidates): an element above 1e30 becomes
%   NaN alone. A NaN element may come back as a number (min and max drop
%   NaN), so the caller keeps track of the elements that were NaN once.
%
%   [B, OUT] = sb3.internal.stage_bound(STAGES, B) takes a cell of stages,
%   in order, in one call (the cost of a call is much of the cost of a
%   stage in Octave): B bounds the last stage's output, and OUT marks the
%   candidates that were NaN after any stage.
%
%   Example:
%     s = struct('kind', 'relu', 'o', struct('op', 'relu'), 'act', '');
%     sb3.internal.stage_bound(s, 5)   % 5.05
%
%   See also sb3.internal.compile_program, sb3.internal.fuse_stage.

out = isnan(b);
if all(out)
  return;
end
stages = stage;
if ~iscell(stages)
  stages = {stage};
end
for j = 1:numel(stages)
  stage = stages{j};
  o = stage.o;
  if ~strcmp(stage.kind, 'linear')
    % A NaN constant. A linear stage's weights and biases are checked below, in the pass
    % that sums them.
    values = struct2cell(o);
    values = values(cellfun('isclass', values, 'double') | cellfun('isclass', values, 'single'));
    if all(cellfun('size', values, 1) == 1)
      found = any(isnan([values{:}]));  % rows (the common case): one pass
    else
      found = any(cellfun(@(v) any(isnan(v(:))), values));
    end
    if found
      b = NaN(size(b));
      out(:) = true;
      return;
    end
  end
  switch stage.kind
    case 'pre'
      if o.normalize
        b = min(o.clip_obs, (b + max(abs(o.mean(:)))) * max(o.inv_std(:)));
      end
      b = b / o.scale;
    case 'linear'
      % Column sums of |W| accumulated in double ('double' also spares Octave a slow
      % double copy of a single matrix: 0.05 ms instead of 0.4 for 256-by-256). A NaN
      % weight or bias makes the sum of all the terms NaN (none is negative).
      w = sum(abs(o.Wt), 1, 'double');
      c = abs(double(o.b(:).'));
      if isnan(sum(w) + sum(c))
        b = NaN(size(b));
        out(:) = true;
        return;
      end
      b = max(w) * b + max([0, c]);
      if strcmp(stage.act, 'tanh')
        b = min(b, 1);
      end
      if ~isempty(stage.o2) || ~isempty(stage.unscale)
        % A merged stage (sb3.internal.compile_program bounds stages before merging):
        % its second layer and unscale bounded in turn, each rounded up once more.
        merged = {};
        if ~isempty(stage.o2)
          merged = {struct('kind', 'linear', 'o', stage.o2, 'act', stage.act, 'o2', [], ...
                           'unscale', [])};
        end
        if ~isempty(stage.unscale)
          merged{end + 1} = struct('kind', 'unscale', 'o', stage.unscale);
        end
        [b, lost] = sb3.internal.stage_bound(merged, b);
        b(lost) = NaN;
      end
    case 'unscale'
      b = max(abs(double(o.half))) * b + max(abs(double(o.mid)));
    case 'clip'
      b = min(b, max(abs(double([o.low, o.high]))));
    case 'hardtanh'
      b = min(b, max(abs(double([o.min_val, o.max_val]))));
    case {'relu', 'tanh', 'sigmoid', 'softsign', 'hardsigmoid', 'silu', 'gelu', 'gelu_tanh', ...
          'mish', 'hardswish', 'softshrink', 'hardshrink'}
      b = max(b, 1);
    case {'elu', 'celu'}
      b = max(b, abs(double(o.alpha)));
    case 'selu'
      b = 1.0508 * max(b, 1.6733);
    case 'leaky_relu'
      b = max(1, abs(double(o.negative_slope))) * b;
    case 'prelu'
      b = max([1, abs(double(o.weight(:).'))]) * b;
    case 'argmax'
      b = max(b, 1e7);  % an index
    case {'logsigmoid', 'tanhshrink'}
      b = b + 1;
    case 'softplus'
      b = b + 1 / abs(double(o.beta));
    case 'threshold'
      b = max(b, abs(double(o.value)));
    otherwise
      b = NaN(size(b));
  end
  b = 1.01 * b;
  b(~(b <= 1e30)) = NaN;
  out = out | isnan(b);
end
end
