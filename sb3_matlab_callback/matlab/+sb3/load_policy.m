function policy = load_policy(bundle_path, varargin)
%LOAD_POLICY Load an sb3-matlab bundle and precompute what sb3.predict needs.
%
%   POLICY = sb3.load_policy(BUNDLE_PATH) reads a .mat bundle written by the
%   Python package sb3_matlab_callback (export_policy or MatlabExportCallback)
%   and returns a struct that sb3.predict runs. All per-call work that can be
%   done once (transposed weights, normalization factors, op dispatch lists)
%   is done here.
%
%   POLICY = sb3.load_policy(BUNDLE_PATH, 'Precision', P) chooses the class
%   the network runs in: 'single' (default) computes in float32 as torch
%   does, which is fastest for large batches; 'double' computes in float64.
%   Observation normalization always runs in double, as VecNormalize does,
%   and actions are always returned as double.
%
%   Usage:
%     policy = sb3.load_policy('policy.mat')
%     policy = sb3.load_policy('policy.mat', 'Precision', 'double')
%
%   Example:
%     policy = sb3.load_policy('exports/run1/policy_v000003.mat');
%     action = sb3.predict(policy, [0.1 -0.2 0.3]);
%
%   BUNDLE_PATH and the option may be char vectors or string scalars. Only
%   regular files are opened, and only the bundle's own variables are read.
%   Before anything runs, every variable is checked to hold only numbers,
%   text, structs and cells (no object, function handle or sparse matrix),
%   and the program is checked against itself (sb3.internal.check_program):
%   every op's name, fields, weight sizes and register indices. The frame
%   stack (sb3.internal.check_frame_stack: n_stack, each stacked input's
%   frame shape against its observation input, statistics, the reference
%   sequence) and the value side (sb3.internal.check_critic: the critic's
%   ops by the same rules, from the observation inputs' widths, its action
%   register and output, the reference values) are checked likewise. A
%   bundle that fails raises sb3:load_policy:corrupt naming the part and
%   the op (also for an op this runtime does not know); it never causes an
%   indexing error in sb3.predict, sb3.value, sb3.q_value or sb3.verify.
%
%   POLICY.skeleton records what a newer bundle of the same program must
%   equal for sb3.poll to reload it cheaply (sb3.internal.bundle_skeleton).
%
%   Errors: sb3:load_policy:badOption, sb3:load_policy:badPath, sb3:load_policy:notFound,
%   sb3:load_policy:corrupt, sb3:load_policy:notBundle,
%   sb3:load_policy:badVersion.
%
%   See also sb3.predict, sb3.verify, sb3.latest, sb3.poll.

args = sb3.internal.text_args([{bundle_path}, varargin]);
bundle_path = args{1};
precision = 'single';
if numel(args) == 3 && ischar(args{2}) && strcmpi(args{2}, 'Precision') && ...
   ischar(args{3}) && any(strcmp(args{3}, {'single', 'double'}))
  precision = args{3};
elseif numel(args) > 1
  error('sb3:load_policy:badOption', ...
        'The only option is ''Precision'' with value ''single'' or ''double''.');
end
if ~ischar(bundle_path) || isempty(bundle_path) || size(bundle_path, 1) ~= 1
  error('sb3:load_policy:badPath', 'Bundle path must be a non-empty char vector or string.');
end
if ~sb3.internal.is_regular_file(bundle_path)
  error('sb3:load_policy:notFound', 'Bundle file not found (or not a regular file): %s', ...
        bundle_path);
end
required = {'format', 'format_version', 'algorithm', 'version', 'num_timesteps', ...
            'observation_space', 'action_space', 'inputs', 'ops', 'output', ...
            'num_registers', 'reference'};
% Only the bundle's own variables are read, whatever else the file holds.
known = [required, {'recurrent', 'policy_class', 'created', 'producer', 'vec_normalize', ...
                    'run_id', 'fingerprint', 'frame_stack', 'critic'}];
S = sb3.internal.load_known(bundle_path, known);
% Classes first: no overloaded method of an object may run on what the file holds.
where = sb3.internal.check_classes(S, 'the bundle', 8, 'ops');
if ~isempty(where)
  error('sb3:load_policy:corrupt', ...
        'Bundle %s: %s; a bundle holds only numbers, text, structs and cells.', ...
        bundle_path, strrep(where, 'the bundle.', ''));
end
if ~isfield(S, 'format') || ~strcmp(S.format, 'sb3-matlab-bundle')
  error('sb3:load_policy:notBundle', '%s is a MAT file but not an sb3-matlab bundle.', bundle_path);
end
missing = required(~isfield(S, required));
if ~isempty(missing)
  error('sb3:load_policy:corrupt', 'Bundle %s lacks the field(s): %s', bundle_path, ...
        strjoin(missing, ', '));
end
v = S.format_version;
if ~(isnumeric(v) && isscalar(v) && isreal(v) && v == 1)
  error('sb3:load_policy:badVersion', ...
        'Bundle %s has format_version %s; this runtime reads version 1.', ...
        bundle_path, mat2str(v));
end
input_shapes = sb3.internal.check_program(S, bundle_path);
sb3.internal.check_frame_stack(S, bundle_path);
sb3.internal.check_critic(S, bundle_path, input_shapes);

policy = struct();
policy.path = bundle_path;
policy.algorithm = S.algorithm;
policy.version = S.version;
policy.num_timesteps = S.num_timesteps;
policy.observation_space = S.observation_space;
policy.action_space = S.action_space;
policy.reference = S.reference;
policy.recurrent = struct('kind', 'none');
if isfield(S, 'recurrent')
  policy.recurrent = S.recurrent;
end
policy.num_registers = S.num_registers;
policy.output = S.output;
policy.precision = precision;
policy.discrete = ~strcmp(S.action_space.type, 'Box');
% The program as stored (sb3.params reads its weights) and its architecture fingerprint.
policy.raw_inputs = S.inputs;
policy.raw_ops = S.ops;
policy.fingerprint = '';
if isfield(S, 'fingerprint') && ischar(S.fingerprint)
  policy.fingerprint = S.fingerprint;
end

% VecFrameStack (sb3.predict then takes single frames) and the value side (critic=True).
policy.frame_stack = sb3.internal.compile_frame_stack([]);
if isfield(S, 'frame_stack')
  policy.frame_stack = sb3.internal.compile_frame_stack(S.frame_stack);
end
policy.critic = sb3.internal.compile_critic([], precision);
if isfield(S, 'critic')
  policy.critic = sb3.internal.compile_critic(S.critic, precision);
end

policy.inputs = cell(1, numel(S.inputs));
for i = 1:numel(S.inputs)
  policy.inputs{i} = sb3.internal.compile_input(S.inputs{i});
end
det_ops = {};
sto_ops = {};
det_pos = zeros(1, numel(S.ops));  % where each op went (0: not there)
sto_pos = zeros(1, numel(S.ops));
for k = 1:numel(S.ops)
  o = sb3.internal.compile_op(S.ops{k}, precision);
  if ~strcmp(o.mode, 'stochastic')
    det_ops{end + 1} = o; %#ok<AGROW>
    det_pos(k) = numel(det_ops);
  end
  if ~strcmp(o.mode, 'deterministic')
    sto_ops{end + 1} = o; %#ok<AGROW>
    sto_pos(k) = numel(sto_ops);
  end
end
policy.det_ops = det_ops;
policy.sto_ops = sto_ops;
policy.maskable = any(cellfun(@(o) strcmp(o.op, 'mask_logits'), det_ops));
% Fast path: one flat Box input, preprocessing fused into the same composed handle;
% used only for observations within fast_limit (see sb3.internal.compile_program).
policy.det_fn = [];
policy = sb3.internal.fast_lane(policy, [], [], 0, 0);
plan = [];
if numel(policy.inputs) == 1 && ~policy.inputs{1}.is_dict && policy.inputs{1}.flat && ...
   strcmp(policy.inputs{1}.kind, 'box') && policy.frame_stack.n_stack == 0
  [fn, limit, plan, batch_fn] = sb3.internal.compile_program(det_ops, policy.num_registers, ...
                                                             policy.output, policy.inputs{1}, ...
                                                             precision);
  policy = sb3.internal.fast_lane(policy, fn, batch_fn, limit, policy.inputs{1}.d);
end
% Identity of the checkpoint, filled in by sb3.poll from the manifest.
policy.sha256 = '';
policy.run_id = '';
policy.poll_stamp = [];
if isfield(S, 'run_id') && ischar(S.run_id)
  policy.run_id = S.run_id;
end
% What sb3.poll needs to load the next checkpoint of this program cheaply
% (sb3.internal.reload_policy); [] where that is not possible.
policy.skeleton = sb3.internal.bundle_skeleton(S, known);
if ~isempty(policy.skeleton)
  policy.skeleton.S = S;  % the template sb3.internal.map_reload fills in
  policy.skeleton.map = [];  % sb3.poll adds it from the bytes it hashed
  policy.skeleton.det_pos = det_pos;
  policy.skeleton.sto_pos = sto_pos;
  policy.skeleton.plan = plan;
  policy.skeleton.input_shapes = input_shapes;
end
end
