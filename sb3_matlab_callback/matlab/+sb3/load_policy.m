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
%   Errors: sb3:load_policy:badOption, sb3:load_policy:badPath, sb3:load_policy:notFound,
%   sb3:load_policy:corrupt, sb3:load_policy:notBundle,
%   sb3:load_policy:badVersion.
%
%   See also sb3.predict, sb3.verify, sb3.latest, sb3.poll.

precision = 'single';
if numel(varargin) == 2 && ischar(varargin{1}) && strcmpi(varargin{1}, 'Precision') && ...
   any(strcmp(varargin{2}, {'single', 'double'}))
  precision = varargin{2};
elseif ~isempty(varargin)
  error('sb3:load_policy:badOption', ...
        'The only option is ''Precision'' with value ''single'' or ''double''.');
end
if ~ischar(bundle_path) || isempty(bundle_path)
  error('sb3:load_policy:badPath', 'Bundle path must be a non-empty char vector.');
end
if exist(bundle_path, 'file') ~= 2
  error('sb3:load_policy:notFound', 'Bundle file not found: %s', bundle_path);
end
try
  S = load(bundle_path);
catch err
  error('sb3:load_policy:corrupt', 'Cannot read bundle %s (corrupt or not a MAT file): %s', ...
        bundle_path, err.message);
end
required = {'format', 'format_version', 'algorithm', 'version', 'num_timesteps', ...
            'observation_space', 'action_space', 'inputs', 'ops', 'output', ...
            'num_registers', 'reference'};
if ~isfield(S, 'format') || ~strcmp(S.format, 'sb3-matlab-bundle')
  error('sb3:load_policy:notBundle', '%s is a MAT file but not an sb3-matlab bundle.', bundle_path);
end
missing = required(~isfield(S, required));
if ~isempty(missing)
  error('sb3:load_policy:corrupt', 'Bundle %s lacks the field(s): %s', bundle_path, ...
        strjoin(missing, ', '));
end
if S.format_version ~= 1
  error('sb3:load_policy:badVersion', ...
        'Bundle %s has format_version %g; this runtime reads version 1.', ...
        bundle_path, S.format_version);
end

policy = struct();
policy.path = bundle_path;
policy.algorithm = S.algorithm;
policy.version = S.version;
policy.num_timesteps = S.num_timesteps;
policy.observation_space = S.observation_space;
policy.action_space = S.action_space;
policy.reference = S.reference;
policy.recurrent = S.recurrent;
policy.num_registers = S.num_registers;
policy.output = S.output;
policy.precision = precision;
policy.discrete = ~strcmp(S.action_space.type, 'Box');

policy.inputs = cell(1, numel(S.inputs));
for i = 1:numel(S.inputs)
  policy.inputs{i} = sb3.internal.compile_input(S.inputs{i});
end
det_ops = {};
sto_ops = {};
for k = 1:numel(S.ops)
  o = sb3.internal.compile_op(S.ops{k}, precision);
  if ~strcmp(o.mode, 'stochastic')
    det_ops{end + 1} = o; %#ok<AGROW>
  end
  if ~strcmp(o.mode, 'deterministic')
    sto_ops{end + 1} = o; %#ok<AGROW>
  end
end
policy.det_ops = det_ops;
policy.sto_ops = sto_ops;
policy.maskable = any(cellfun(@(o) strcmp(o.op, 'mask_logits'), det_ops));
policy.det_fn = sb3.internal.compile_program(det_ops, policy.num_registers, policy.output);
% Fast path: one flat Box input, preprocessing fused into the same handle.
policy.fast_fn = [];
policy.fast_d = -1;
if numel(policy.inputs) == 1 && ~policy.inputs{1}.is_dict && policy.inputs{1}.flat && ...
   strcmp(policy.inputs{1}.kind, 'box') && ~isempty(policy.det_fn)
  policy.fast_fn = sb3.internal.compile_program(det_ops, policy.num_registers, policy.output, ...
                                                policy.inputs{1}, precision);
  policy.fast_d = policy.inputs{1}.d;
end
end
