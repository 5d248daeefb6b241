function params = params(policy, fingerprint)
%PARAMS The weights of a loaded policy, as a generated function takes them.
%
%   PARAMS = sb3.params(POLICY) returns a struct of single arrays, one field
%   per weight, bias or statistic of the policy loaded by sb3.load_policy:
%   the PARAMS argument of a function written by generate_matlab_function
%   (Python) or `sb3-matlab generate`. Every version of one training run
%   gives the same fields, sizes and classes, so new weights can replace
%   PARAMS in a running loop or a Simulink tunable parameter.
%
%   PARAMS = sb3.params(POLICY, FINGERPRINT) also checks that the policy's
%   architecture fingerprint equals FINGERPRINT (char or string), the one
%   in the generated function's header, and raises
%   sb3:params:fingerprintMismatch if not.
%
%   Fields (k counts the bundle's ops from 1, i its inputs, s its frame
%   stack's inputs; ops that only run when sampling have none):
%     fs<s>_mean, fs<s>_var     VecNormalize statistics of one frame when it
%                               sits inside a frame stack (VecFrameStack),
%                               1-by-d (or the frame's shape)
%     in<i>_mean, in<i>_var     VecNormalize statistics, 1-by-d (H-by-W-by-C)
%     op<k>_weight              linear: (in+1)-by-out, the weight transposed
%                               with the bias as last row; (in+1)-by-(out+1)
%                               with a last column [0 ... 0 1]' when the
%                               output only feeds relu/linear layers (see
%                               sb3.internal.unit_carriers)
%     op<k>_weight, op<k>_bias  conv2d: (Cin*kh*kw)-by-Cout and 1-by-Cout; prelu
%     op<k>_mean, _var, _weight, _bias   batch_norm; layer_norm: _weight, _bias
%     op<k>_l<j>_weight_ih, _weight_hh, _bias_ih, _bias_hh   LSTM layer j,
%                               transposed (in-by-4H, H-by-4H, 1-by-4H)
%
%   Usage:
%     params = sb3.params(policy)
%     params = sb3.params(policy, fingerprint)
%
%   Example:
%     policy = sb3.load_policy(sb3.latest('exports/run1'));
%     params = sb3.params(policy);
%     action = policy_predict([0.1 -0.2 0.3], params);
%
%   Errors: sb3:params:badPolicy, sb3:params:fingerprintMismatch.
%
%   See also sb3.load_policy, sb3.poll, sb3.predict.

if ~isstruct(policy) || ~all(isfield(policy, {'raw_ops', 'raw_inputs', 'output'}))
  error('sb3:params:badPolicy', 'POLICY must be a policy returned by sb3.load_policy.');
end
if nargin > 1
  if isa(fingerprint, 'string')
    fingerprint = char(fingerprint);
  end
  if ~strcmp(policy.fingerprint, fingerprint)
    error('sb3:params:fingerprintMismatch', ...
          ['The policy %s has architecture fingerprint ''%s'', not ''%s'': its weights do ' ...
           'not fit that generated function. Generate the function again from this bundle.'], ...
          policy.path, policy.fingerprint, fingerprint);
  end
end
params = struct();
stacked = {};
if isfield(policy, 'frame_stack')
  stacked = policy.frame_stack.inputs;
end
for s = 1:numel(stacked)
  in = stacked{s};  % VecNormalize inside the frame stack: statistics of one frame
  if in.normalize
    sz = in.frame_shape;
    if numel(sz) == 1
      sz = [1, sz];
    end
    params.(sprintf('fs%d_mean', s)) = single(reshape(in.mean, sz));
    params.(sprintf('fs%d_var', s)) = single(reshape(in.var, sz));
  end
end
inputs = policy.raw_inputs;
for i = 1:numel(inputs)
  in = inputs{i};
  if isfield(in, 'normalize') && in.normalize ~= 0
    if strcmp(in.kind, 'image')
      shape = double(in.shape);
      sz = shape([2 3 1]);
    else
      sz = [1, numel(in.mean)];
    end
    params.(sprintf('in%d_mean', i)) = single(reshape(in.mean, sz));
    params.(sprintf('in%d_var', i)) = single(reshape(in.var, sz));
  end
end
ops = policy.raw_ops;
unit = sb3.internal.unit_carriers(ops, policy.output);
for k = 1:numel(ops)
  o = ops{k};
  if ~strcmp(o.mode, 'stochastic')
    params = sb3.internal.op_params(params, o, sprintf('op%d_', k), unit(k));
  end
end
end
