function tied = near_ties(policy, obs, expected)
%NEAR_TIES Which expected discrete actions are tied with the runtime's choice.
%
%   TIED = sb3.internal.near_ties(POLICY, OBS, EXPECTED) runs the
%   deterministic program on OBS and returns a logical array the size of
%   EXPECTED that is true where the expected action's score is within
%   1e-5 * max(1, |largest score|) of the best score of its row (argmax,
%   per block for multi_argmax), or, for MultiBinary ('binary'), where the
%   logit is that close to 0. Such a choice is a tie broken differently by
%   floating-point rounding, not a wrong action. Elsewhere TIED is false.
%
%   Example:
%     tied = sb3.internal.near_ties(policy, policy.reference.observations, ...
%                                   double(policy.reference.actions));
%
%   See also sb3.verify.

tied = false(size(expected));
ops = policy.det_ops;
last = [];
for k = 1:numel(ops)
  if ops{k}.output == policy.output && any(strcmp(ops{k}.op, {'argmax', 'multi_argmax', 'binary'}))
    last = ops{k};
  end
end
if isempty(last)
  return;
end
R = sb3.internal.prepare_inputs(policy, obs);
R = sb3.internal.run_ops(policy, ops, R, [], [], []);
scores = double(R{last.in1});
if strcmp(last.op, 'binary')
  tied = abs(scores) <= 1e-5 * max(1, max(abs(scores), [], 2));
  return;
end
if strcmp(last.op, 'argmax')
  nvec = size(scores, 2);
else
  nvec = double(last.nvec(:).');
end
first = 0;
for j = 1:numel(nvec)
  block = scores(:, first + (1:nvec(j)));
  best = max(block, [], 2);
  for i = 1:size(block, 1)
    e = expected(i, j);
    if e >= 0 && e < nvec(j) && e == round(e)
      tied(i, j) = best(i) - block(i, e + 1) <= 1e-5 * max(1, max(abs(block(i, :))));
    end
  end
  first = first + nvec(j);
end
end
