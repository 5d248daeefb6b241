function input_shapes = check_program(S, bundle_path)
%CHECK_PROGRAM Check a loaded bundle's program against itself before anything runs.
%
%   INPUT_SHAPES = sb3.internal.check_program(S, BUNDLE_PATH) checks the bundle variables S
%   (as sb3.load_policy loads them) so that no bundle, however malformed,
%   can give a MATLAB indexing or size error when sb3.predict, sb3.verify or
%   sb3.params runs it later:
%     - num_registers is a whole number (at most 1e6), output a register;
%     - each input has a known kind, a register, a shape and, per kind,
%       nvec, scale and VecNormalize statistics of matching sizes;
%     - each op has a known name (else sb3:load_policy:corrupt), a mode,
%       input registers that an input or an earlier op of the same mode
%       has written, an output register, and every field its formula uses,
%       real numbers (NaN propagates, as in torch) of the size
%       the widths of its input registers require (linear, conv2d and lstm
%       weights included: the width of each register is followed through
%       the program from the inputs);
%     - the spaces, the reference and the recurrent state are structs of
%       the right kind.
%   Any problem raises sb3:load_policy:corrupt naming the op (number and
%   name) or the input and what is wrong. INPUT_SHAPES is the shape of each
%   register the inputs fill ([] for the others), where the critic's ops
%   start (sb3.internal.check_critic). The frame stack and the critic are
%   checked by sb3.internal.check_frame_stack and sb3.internal.check_critic.
%
%   Usage:
%     input_shapes = sb3.internal.check_program(S, bundle_path)
%
%   Example:
%     S = load('policy.mat');
%     sb3.internal.check_program(S, 'policy.mat');
%
%   See also sb3.load_policy, sb3.internal.check_op, sb3.internal.check_input,
%   sb3.internal.check_op_header.

corrupt = 'sb3:load_policy:corrupt';
nreg = S.num_registers;
if ~sb3.internal.is_whole(nreg, 1) || nreg > 1e6
  error(corrupt, 'Bundle %s: num_registers must be a whole number in 1..1e6.', bundle_path);
end
if ~sb3.internal.is_whole(S.output, 1) || S.output > nreg
  error(corrupt, 'Bundle %s: output must be a register in 1..%d.', bundle_path, nreg);
end
for name = {'observation_space', 'action_space'}
  space = S.(name{1});
  if ~isstruct(space) || ~isscalar(space) || ~isfield(space, 'type') || ~ischar(space.type)
    error(corrupt, 'Bundle %s: %s must be a struct with a type.', bundle_path, name{1});
  end
end
ref = S.reference;
if ~isstruct(ref) || ~isscalar(ref) || ...
   ~all(isfield(ref, {'observations', 'actions', 'atol'})) || ...
   ~isnumeric(ref.actions) || ~ismatrix(ref.actions) || ~isnumeric(ref.atol) || ~isscalar(ref.atol)
  error(corrupt, ['Bundle %s: reference must be a struct with observations, ' ...
                  'actions (a matrix) and atol (a scalar).'], bundle_path);
end
if ~iscell(S.inputs) || isempty(S.inputs) || ~iscell(S.ops) || isempty(S.ops)
  error(corrupt, 'Bundle %s: inputs and ops must be non-empty cell arrays of structs.', ...
        bundle_path);
end
% The shape of each register as the deterministic and the sampling runs see it:
% [] unwritten, d for N-by-d, [H W C] for an image.
det_shapes = cell(1, nreg);
sto_shapes = cell(1, nreg);
for i = 1:numel(S.inputs)
  [reg, shape, problem] = sb3.internal.check_input(S.inputs{i}, nreg);
  if ~isempty(problem)
    error(corrupt, 'Bundle %s: input %d: %s.', bundle_path, i, problem);
  end
  det_shapes{reg} = shape;
  sto_shapes{reg} = shape;
end
input_shapes = det_shapes;
lstm_ops = 0;
for k = 1:numel(S.ops)
  o = S.ops{k};
  [name, problem] = sb3.internal.check_op_header(o, nreg);
  if isempty(problem)
    regs = double(o.inputs(:).');
    if strcmp(o.mode, 'deterministic')
      shapes = det_shapes(regs);
    elseif strcmp(o.mode, 'stochastic')
      shapes = sto_shapes(regs);
    else
      shapes = det_shapes(regs);
      other = sto_shapes(regs);
      if ~all(cellfun('length', shapes) == cellfun('length', other)) || ...
         ~all([shapes{:}] == [other{:}])
        problem = 'its input registers differ between deterministic and sampling runs';
      end
    end
    unset = regs(cellfun('isempty', shapes));
    if isempty(problem) && ~isempty(unset)
      problem = sprintf('reads register %d before anything writes it', unset(1));
    end
  end
  if isempty(problem)
    [out, problem] = sb3.internal.check_op(o, shapes);
  end
  if strcmp(name, 'lstm')
    lstm_ops = lstm_ops + 1;
  end
  recurrent = isfield(S, 'recurrent') && isstruct(S.recurrent) && isscalar(S.recurrent) && ...
              isfield(S.recurrent, 'kind') && strcmp(S.recurrent.kind, 'lstm');
  if isempty(problem) && strcmp(name, 'lstm') && ~(lstm_ops == 1 && recurrent)
    problem = 'a program has at most one lstm op, and its recurrent variable must say ''lstm''';
  end
  if strcmp(problem, 'unknown')
    error(corrupt, ...
          ['Bundle %s: op %d uses op ''%s'', which this runtime does not know ' ...
           '(a damaged file, or a newer exporter''s bundle: update the +sb3 runtime).'], ...
          bundle_path, k, name);
  elseif ~isempty(problem)
    error(corrupt, 'Bundle %s: op %d (%s): %s.', bundle_path, k, name, problem);
  end
  if ~strcmp(o.mode, 'stochastic')
    det_shapes{o.output} = out;
  end
  if ~strcmp(o.mode, 'deterministic')
    sto_shapes{o.output} = out;
  end
end
action = det_shapes{S.output};
if isempty(action) || isempty(sto_shapes{S.output}) || numel(action) ~= 1
  error(corrupt, 'Bundle %s: output register %d never holds a flat action.', bundle_path, ...
        S.output);
end
end
