function [y, state] = run_critic(policy, obs, R_action, state, starts)
%RUN_CRITIC Run a policy's critic ops on an observation (sb3.value, sb3.q_value).
%
%   [Y, STATE] = sb3.internal.run_critic(POLICY, OBS, R_ACTION, STATE, STARTS)
%   stacks the frames OBS when the policy carries a frame stack (STATE.stack),
%   preprocesses the observation as sb3.predict does, puts R_ACTION (the
%   scaled action, or [] for none) into the critic's action register and
%   runs the critic ops. STATE carries the critic LSTM's h and c
%   (RecurrentPPO) and the frame stack; Y is N-by-n_critics double.
%
%   Example:
%     [v, s] = sb3.internal.run_critic(policy, obs, [], [], []);
%
%   See also sb3.value, sb3.q_value, sb3.internal.frame_stack.

critic = policy.critic;
stacked = policy.frame_stack.n_stack > 0;
if stacked
  [obs, state, stack] = sb3.internal.frame_stack(policy, obs, state, starts);
end
[R, n] = sb3.internal.prepare_inputs(policy, obs);
if ~isempty(R_action)
  if size(R_action, 1) ~= n
    error('sb3:q_value:badActionSize', ...
          'ACTION has %d rows but there are %d observations.', size(R_action, 1), n);
  end
  R{critic.action.register} = cast(R_action, policy.precision);
end
[R, state] = sb3.internal.run_ops(policy, critic.ops, R, state, starts, []);
y = double(R{critic.output});
if stacked
  if isempty(state)
    state = struct();
  end
  state.stack = stack;
end
end
