function check_frame_stack(S, bundle_path)
%CHECK_FRAME_STACK Check a bundle's frame stack and the reference sequence sb3.verify replays.
%
%   sb3.internal.check_frame_stack(S, BUNDLE_PATH) checks, after
%   sb3.internal.check_program, the bundle variable frame_stack (absent in
%   bundles written before it existed) and the reference, so that no bundle
%   can give a MATLAB indexing or size error in sb3.predict, sb3.value,
%   sb3.q_value or sb3.verify:
%     - frame_stack is a struct with n_stack, a whole number (0: no stack,
%       and then inputs is empty), and inputs: one struct per observation
%       input, each checked by sb3.internal.check_frame_input (its key names
%       an input, its frame_shape stacked n_stack times along axis is what
%       that input takes, its VecNormalize statistics fit one frame);
%     - a frame-stacked reference is a sequence: reference.episode_starts
%       holds T zeros and ones, and the observations (each Dict field) are
%       T single frames of frame_shape;
%     - the reference observations (each Dict field) have one row per
%       reference action.
%   Any problem raises sb3:load_policy:corrupt naming the part and the
%   field (frame_stack input I for a stacked observation).
%
%   Usage:
%     sb3.internal.check_frame_stack(S, bundle_path)
%
%   Example:
%     S = load('stacked.mat');
%     sb3.internal.check_program(S, 'stacked.mat');
%     sb3.internal.check_frame_stack(S, 'stacked.mat');
%
%   See also sb3.load_policy, sb3.internal.check_frame_input,
%   sb3.internal.compile_frame_stack, sb3.internal.replay_reference.

corrupt = 'sb3:load_policy:corrupt';
items = {};
n_stack = 0;
if isfield(S, 'frame_stack')
  fs = S.frame_stack;
  if ~isstruct(fs) || ~isscalar(fs) || ~all(isfield(fs, {'n_stack', 'inputs'}))
    error(corrupt, ['Bundle %s: frame_stack must be a struct with the fields n_stack ' ...
                    'and inputs.'], bundle_path);
  end
  if ~sb3.internal.is_whole(fs.n_stack, 0)
    got = ['a ', class(fs.n_stack)];
    if isnumeric(fs.n_stack) && isreal(fs.n_stack) && numel(fs.n_stack) <= 4
      got = mat2str(fs.n_stack, 4);
    end
    error(corrupt, ['Bundle %s: frame_stack: n_stack must be a whole number, the frames ' ...
                    'stacked (0: no stack); it is %s.'], bundle_path, got);
  end
  n_stack = double(fs.n_stack);
  items = fs.inputs;
  if isstruct(items) && isscalar(items)
    items = {items};
  end
  if n_stack == 0 && ~isempty(items)
    error(corrupt, ['Bundle %s: frame_stack: n_stack is 0 (no stack), yet inputs lists ' ...
                    'stacked observations.'], bundle_path);
  elseif n_stack > 0 && (~iscell(items) || numel(items) ~= numel(S.inputs))
    error(corrupt, ['Bundle %s: frame_stack: inputs must be a cell of %d struct(s), one per ' ...
                    'observation input.'], bundle_path, numel(S.inputs));
  end
end
keys = cell(1, numel(items));
for i = 1:numel(items)
  [keys{i}, problem] = sb3.internal.check_frame_input(items{i}, n_stack, S.inputs);
  if isempty(problem) && i > 1 && (isempty(keys{i}) || any(strcmp(keys{i}, keys(1:i - 1))))
    problem = 'a plain observation has one stacked input, a Dict one per key, each key once';
  end
  if ~isempty(problem)
    error(corrupt, 'Bundle %s: frame_stack input %d: %s.', bundle_path, i, problem);
  end
end
problem = sb3.internal.check_sequence(S.reference, items);
if ~isempty(problem)
  error(corrupt, 'Bundle %s: %s.', bundle_path, problem);
end
end
