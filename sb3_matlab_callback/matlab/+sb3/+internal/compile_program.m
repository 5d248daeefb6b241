function [fn, limit, plan, fb] = compile_program(ops, num_registers, output, in, precision, plan)
%COMPILE_PROGRAM Fuse a one-input chain program into one composed function handle (load time).
%
%   [FN, LIMIT] = sb3.internal.compile_program(OPS, NUM_REGISTERS, OUTPUT, IN, PRECISION)
%   returns a handle FN(X) that computes register OUTPUT, as double, from
%   the raw N-by-d observation X (double or single) of the single flat input
%   IN: it normalizes X in double (VecNormalize), scales it, and runs the
%   deterministic op chain OPS in PRECISION. No code is built from text: a
%   network of SB3's default shape (two hidden layers) is one fixed
%   anonymous function (sb3.internal.fuse_mlp); other chains compose one
%   small anonymous function per layer (sb3.internal.fuse_stage).
%
%   FN computes with max/min, which would drop NaN. It is therefore only used
%   where no NaN can arise: all constants are finite and every observation
%   element is below LIMIT in magnitude, which load time proves keeps every
%   intermediate value below 1e30 (no overflow, hence no Inf and no NaN).
%   sb3.predict takes the exact, interpreted path for anything else.
%
%   FN takes exactly one observation, a 1-by-d row; a scalar (d > 1), a column
%   or a batch make it fail. FB, the fourth output, takes N-by-d rows (N >= 1)
%   and fails for anything else. For a network of the default shape FN is the
%   single fixed expression, with its biases folded into the weights
%   ([x, 1] * [W; b]); other chains have FN and FB the same handle.
%
%   FN is [] (and LIMIT 0) when the program is not a chain of ops with a
%   known growth bound (several inputs, a register read twice, lstm,
%   mask_logits, sampling, ...), has no linear layer, or when no useful
%   LIMIT exists.
%
%   [FN, LIMIT, PLAN] = sb3.internal.compile_program(...) also returns the
%   program's stages without their constants (PLAN.chain is false when the
%   program is not a chain). [FN, LIMIT] = sb3.internal.compile_program(OPS,
%   NUM_REGISTERS, OUTPUT, IN, PRECISION, PLAN) compiles OPS and IN of the
%   same program (same ops, registers and sizes; new constants, as
%   sb3.internal.reload_policy proves) from PLAN: only the bound and the
%   handle are computed again.
%
%   Example:
%     [fn, limit] = sb3.internal.compile_program(policy.det_ops, policy.num_registers, ...
%                                                policy.output, policy.inputs{1}, 'single');
%
%   See also sb3.load_policy, sb3.predict, sb3.internal.fuse_mlp, sb3.internal.fuse_stage.

fn = [];
fb = [];
limit = 0;
% The input stage: VecNormalize and scaling, in double, then the cast to PRECISION; for
% a double network without them, only the cast of a single observation to double.
pre = struct('kind', 'pre', 'o', in, 'act', '', 'o2', [], 'unscale', [], 'precision', precision);
if nargin > 5 && ~isempty(plan)
  % The stages of an earlier compile of the same program: only the constants are new.
  if ~plan.chain
    return;
  end
  stages = plan.stages;
  sources = [{in}; ops(:)];  % index 0 is the input stage
  for j = 1:numel(stages)
    stages{j}.o = sources{plan.index(j) + 1};
  end
else
  plan = struct('chain', false, 'stages', {{}}, 'index', []);
  uses = zeros(1, num_registers);
  for k = 1:numel(ops)
    uses(ops{k}.inputs) = uses(ops{k}.inputs) + 1;
  end
  if any(uses > 1) || isempty(ops) || ops{end}.output ~= output
    return;
  end
  stages = {};
  index = [];  % the op each stage computes (0: the input stage)
  if in.normalize || in.scale ~= 1
    stages = {pre};
    index = 0;
  end
  previous = in.output;
  k = 1;
  while k <= numel(ops)
    o = ops{k};
    if numel(o.inputs) ~= 1 || o.in1 ~= previous
      return;
    end
    index(end + 1) = k; %#ok<AGROW>
    if strcmp(o.op, 'linear') && k < numel(ops) && ...
       any(strcmp(ops{k + 1}.op, {'relu', 'tanh'})) && ops{k + 1}.in1 == o.output
      stages{end + 1} = struct('kind', 'linear', 'o', o, 'act', ops{k + 1}.op, 'o2', [], ...
                               'unscale', []); %#ok<AGROW>
      previous = ops{k + 1}.output;
      k = k + 2;
      continue;
    end
    stages{end + 1} = struct('kind', o.op, 'o', o, 'act', '', 'o2', [], 'unscale', []); %#ok<AGROW>
    previous = o.output;
    k = k + 1;
  end
  % An N-D observation must fail a matrix product inside FN (sb3.predict relies on it).
  if ~any(cellfun(@(s) strcmp(s.kind, 'linear'), stages))
    return;
  end
  plan = struct('chain', true, 'stages', {stages}, 'index', index);
  for j = 1:numel(stages)
    plan.stages{j}.o = [];  % the plan is kept without the constants
  end
end
% The largest power of ten of |observation| that keeps every stage below 1e30. An op
% without a known bound (lstm, mask_logits, conv2d, sampling, ...) or a NaN constant
% gives a NaN bound: then there is no fast path. All the candidates go through each stage
% at once (one stage_bound call for all the stages and candidates); a candidate that was
% NaN after any stage stays out, even where a later min or max would drop its NaN.
candidates = 10.^(30:-1:-6);
[b, out] = sb3.internal.stage_bound(stages, candidates);
first = find(~out & b <= 1e30, 1);
if isempty(first)
  return;
end
limit = candidates(first);
if ~strcmp(stages{1}.kind, 'pre')
  [fn, fb] = sb3.internal.fuse_mlp(stages, precision, in.d);
  if ~isempty(fn)
    return;
  end
  if strcmp(precision, 'double')
    stages = [{pre}, stages];
  end
end
% The result is double; argmax and binary give double already.
cast_double = strcmp(precision, 'single') && ...
              ~any(strcmp(stages{end}.kind, {'argmax', 'multi_argmax', 'binary'}));
% Fewer, larger stages: two linear+relu (or +tanh) layers in one handle, and an unscale
% folded into the linear+tanh before it (SAC's squashed head).
merged = {};
for j = 1:numel(stages)
  st = stages{j};
  if ~isempty(merged)
    prev = merged{end};
    if strcmp(st.kind, 'linear') && strcmp(prev.kind, 'linear') && strcmp(prev.act, st.act) && ...
       isempty(prev.o2) && isempty(prev.unscale) && ~isempty(st.act)
      prev.o2 = st.o;
      merged{end} = prev;
      continue;
    end
    if strcmp(st.kind, 'unscale') && strcmp(prev.kind, 'linear') && strcmp(prev.act, 'tanh') && ...
       isempty(prev.o2) && isempty(prev.unscale)
      prev.unscale = st.o;
      merged{end} = prev;
      continue;
    end
  end
  merged{end + 1} = st; %#ok<AGROW>
end
for j = 1:numel(merged)
  fn = sb3.internal.fuse_stage(fn, merged{j});
end
if cast_double
  fn = sb3.internal.fuse_stage(fn, struct('kind', 'double', 'o', []));
end
% Taking columns 1..d fails for a scalar or a narrower array, which the layers would
% otherwise broadcast (x - mean, x * W); sb3.predict has checked the width already.
g = fn;
cols = 1:in.d;
fn = @(x) g(x(:, cols));
fb = fn;
end
