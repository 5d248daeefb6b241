function [v, state] = critic_output(policy, kind, obs, actions, state, starts)
%CRITIC_OUTPUT Call sb3.value or sb3.q_value, as the policy's critic kind says.
%
%   [V, STATE] = sb3.internal.critic_output(POLICY, KIND, OBS, ACTIONS, STATE, STARTS)
%   runs sb3.value ('value'), sb3.q_value with ACTIONS ('q_continuous') or
%   sb3.q_value without ('q_discrete'), passing 'State' and 'EpisodeStart'.
%
%   Example:
%     v = sb3.internal.critic_output(policy, 'value', obs, [], [], []);
%
%   See also sb3.internal.replay_reference.

if strcmp(kind, 'value')
  [v, state] = sb3.value(policy, obs, 'State', state, 'EpisodeStart', starts);
elseif strcmp(kind, 'q_continuous')
  [v, state] = sb3.q_value(policy, obs, actions, 'State', state, 'EpisodeStart', starts);
else
  [v, state] = sb3.q_value(policy, obs, 'State', state, 'EpisodeStart', starts);
end
end
