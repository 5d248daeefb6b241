function policy = reload_policy(bundle_path, old, precision, bytes)
%RELOAD_POLICY Load a newer bundle of the program in use, reusing the checks and compile.
%
%   POLICY = sb3.internal.reload_policy(BUNDLE_PATH, OLD, PRECISION) loads
%   the bundle BUNDLE_PATH as sb3.load_policy(BUNDLE_PATH, 'Precision',
%   PRECISION) would, when it holds the same program as the policy OLD
%   (typically the next checkpoint of the same run), at a fraction of the
%   cost: instead of checking the program against itself and compiling it
%   again, it proves that the bundle equals OLD's bundle in everything but
%   the values that a newer checkpoint changes (see
%   sb3.internal.bundle_skeleton), then computes only what those values
%   feed: the weights of the ops that hold them, VecNormalize statistics,
%   and the fused fast path with its overflow bound. The architecture
%   fingerprint the bundle states is not trusted: the comparison is of the
%   variables themselves (containers, field names, classes, sizes and
%   every other value), with only builtins no object overloads.
%
%   POLICY = sb3.internal.reload_policy(BUNDLE_PATH, OLD, PRECISION, BYTES)
%   also takes the file's bytes (as sb3.poll hashed them). With OLD's map of
%   its own file (OLD.skeleton.map, sb3.internal.reload_map) the variables
%   are then read from BYTES, without load, when every byte but the changing
%   values equals OLD's file (sb3.internal.map_reload), which proves the same
%   element tree at the cost of one comparison; anything else takes the path
%   above. POLICY carries the map on for the next version.
%
%   POLICY is [] when the bundle is not of the same program, or OLD carries
%   no skeleton (a policy loaded with another precision, or built by hand):
%   then the caller loads it with sb3.load_policy, which checks it in full
%   (and refuses a hostile bundle with sb3:load_policy:corrupt). A file
%   that is not a readable MAT file raises sb3:load_policy:corrupt.
%
%   Usage:
%     policy = sb3.internal.reload_policy(bundle_path, old, precision)
%     policy = sb3.internal.reload_policy(bundle_path, old, precision, bytes)
%
%   Example:
%     old = sb3.load_policy('exports/run1/policy_v000001.mat');
%     policy = sb3.internal.reload_policy('exports/run1/policy_v000002.mat', old, 'single');
%     if isempty(policy), policy = sb3.load_policy('exports/run1/policy_v000002.mat'); end
%
%   See also sb3.poll, sb3.load_policy, sb3.internal.bundle_skeleton.

policy = [];
if ~isfield(old, 'skeleton') || ~isstruct(old.skeleton) || ~isfield(old, 'precision') || ...
   ~strcmp(old.precision, precision)
  return;
end
skel = old.skeleton;
S = [];
if nargin > 3 && isfield(skel, 'map') && ~isempty(skel.map)
  S = sb3.internal.map_reload(skel, bytes);
end
if isempty(S)
  S = sb3.internal.load_known(bundle_path, skel.known);
  if ~sb3.internal.same_skeleton(S, skel)
    return;
  end
  skel.map = [];
  if nargin > 3
    skel.map = sb3.internal.reload_map(S, bytes);
  end
end
% What the new values feed. VecNormalize statistics are checked again (var + epsilon).
inputs = old.inputs;
if skel.inputs_free
  for i = 1:numel(S.inputs)
    [~, ~, problem] = sb3.internal.check_input(S.inputs{i}, S.num_registers);
    if ~isempty(problem)
      return;  % sb3.load_policy names the problem
    end
    inputs{i} = sb3.internal.compile_input(S.inputs{i});
  end
end
if old.frame_stack.n_stack > 0
  sb3.internal.check_frame_stack(S, bundle_path);  % the reference sequence's values
end
if ~strcmp(old.critic.kind, 'none')
  sb3.internal.check_critic(S, bundle_path, skel.input_shapes);
end
det_ops = old.det_ops;
sto_ops = old.sto_ops;
convert = @double;  % cast(x, precision) without Octave's m-file cast
if strcmp(precision, 'single')
  convert = @single;
end
% Each op with new values starts from its compiled form in OLD (an op of both programs is
% one struct in both); few statements per op, as each costs Octave 2-3 us.
ks = skel.tensor_ops;
d = skel.det_pos(ks);
e = skel.sto_pos(ks);
where = d;
where(d == 0) = numel(det_ops) + e(d == 0);
both = [det_ops(:); sto_ops(:)];
compiled = both(where);
for i = 1:numel(ks)
  o = S.ops{ks(i)};
  if strcmp(o.op, 'linear')
    % sb3.internal.compile_op's formulas for a linear op of the same program, inline (a
    % call costs Octave about 25 us).
    compiled{i}.Wt = convert(o.weight).';
    compiled{i}.b = convert(reshape(o.bias, 1, []));
  else
    compiled{i} = sb3.internal.compile_op(o, precision, compiled{i});
  end
end
det_ops(d(d > 0)) = compiled(d > 0);
sto_ops(e(e > 0)) = compiled(e > 0);
policy = old;
skel.S = S;
policy.skeleton = skel;
policy.path = bundle_path;
policy.version = S.version;
policy.num_timesteps = S.num_timesteps;
policy.reference = S.reference;
policy.raw_inputs = S.inputs;
policy.raw_ops = S.ops;
policy.inputs = inputs;
policy.det_ops = det_ops;
policy.sto_ops = sto_ops;
if ~isempty(skel.plan)
  [fn, limit, ~, batch_fn] = sb3.internal.compile_program(det_ops, policy.num_registers, ...
                                                          policy.output, inputs{1}, precision, ...
                                                          skel.plan);
  policy = sb3.internal.fast_lane(policy, fn, batch_fn, limit, inputs{1}.d);
end
policy.sha256 = '';
policy.run_id = '';
policy.poll_stamp = [];
if isfield(S, 'run_id') && ischar(S.run_id)
  policy.run_id = S.run_id;
end
end
