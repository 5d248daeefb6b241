function [name, problem] = check_op_header(o, nreg)
%CHECK_OP_HEADER Check the fields every op of a bundle has: op, inputs, output and mode.
%
%   [NAME, PROBLEM] = sb3.internal.check_op_header(O, NREG) returns the op
%   name NAME of the op struct O ('?' when O is not a scalar struct with a
%   text op) and PROBLEM = '' when O has the fields op, inputs, output and
%   mode, its mode is 'always', 'deterministic' or 'stochastic', and its
%   inputs and output are registers in 1..NREG; else PROBLEM says what is
%   wrong. The op's own constants are checked by sb3.internal.check_op.
%   sb3.internal.check_program (the actor's ops) and
%   sb3.internal.check_critic (the critic's ops) share it.
%
%   Usage:
%     [name, problem] = sb3.internal.check_op_header(o, nreg)
%
%   Example:
%     o = struct('op', 'relu', 'inputs', 1, 'output', 2, 'mode', 'always');
%     [name, problem] = sb3.internal.check_op_header(o, 2)   % 'relu', ''
%
%   See also sb3.internal.check_program, sb3.internal.check_critic, sb3.internal.check_op.

name = '?';
if isstruct(o) && isscalar(o) && isfield(o, 'op') && ischar(o.op) && size(o.op, 1) == 1
  name = o.op;
end
problem = '';
if strcmp(name, '?') || ~all(isfield(o, {'inputs', 'output', 'mode'}))
  problem = 'must be a struct with the fields op, inputs, output and mode';
elseif ~ischar(o.mode) || ~any(strcmp(o.mode, {'always', 'deterministic', 'stochastic'}))
  problem = 'mode must be ''always'', ''deterministic'' or ''stochastic''';
elseif ~isnumeric(o.inputs) || isempty(o.inputs) || ~isvector(o.inputs) || ...
       ~isreal(o.inputs) || ...
       any(o.inputs(:) < 1 | o.inputs(:) > nreg | o.inputs(:) ~= fix(o.inputs(:)))
  problem = sprintf('inputs must be registers in 1..%d', nreg);
elseif ~sb3.internal.is_whole(o.output, 1) || o.output > nreg
  problem = sprintf('output must be a register in 1..%d', nreg);
end
end
