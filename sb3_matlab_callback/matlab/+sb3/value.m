function [v, state] = value(policy, obs, varargin)
%VALUE The state value SB3's policy.predict_values gives for an observation or a batch.
%
%   V = sb3.value(POLICY, OBS) runs the value function of an on-policy
%   policy (A2C, PPO, TRPO, MaskablePPO, RecurrentPPO) loaded by
%   sb3.load_policy from a bundle exported with critic=True, and returns
%   N-by-1 double, as SB3's policy.predict_values. OBS is raw (before any
%   VecNormalize; the bundle applies it), in the same shapes sb3.predict
%   takes: one observation or N stacked along the first dimension.
%
%   [V, STATE] = sb3.value(POLICY, OBS, 'State', STATE, 'EpisodeStart', STARTS)
%   carries what the value function remembers between calls, kept apart
%   from sb3.predict's state:
%     - RecurrentPPO: the critic LSTM's h and c (num_layers-by-N-by-hidden;
%       SB3's lstm_states.vf; with shared_lstm, the actor's LSTM run on the
%       same frames). [] means zeros; EPISODESTART true resets a row.
%     - a frame-stacked bundle: OBS is single frames, and STATE.stack the
%       stack, as in sb3.predict.
%   Feed the same observations and episode starts as to sb3.predict, with
%   their own STATE.
%
%   Usage:
%     v = sb3.value(policy, obs)
%     [v, state] = sb3.value(policy, obs, 'State', state, 'EpisodeStart', starts)
%
%   Example:
%     policy = sb3.load_policy('ppo_with_critic.mat');
%     v = sb3.value(policy, [0.1 -0.2 0.3]);
%
%   Errors: sb3:value:noCritic (exported without critic=True),
%   sb3:value:wrongKind (an off-policy or value-based bundle: use
%   sb3.q_value), sb3:value:badOption, and sb3.predict's observation and
%   state errors (sb3:predict:badObsSize, ...).
%
%   See also sb3.q_value, sb3.predict, sb3.load_policy.

if ~isstruct(policy) || ~isfield(policy, 'critic')
  error('sb3:value:noCritic', 'POLICY must be a policy returned by sb3.load_policy.');
end
varargin = sb3.internal.text_args(varargin);
kind = policy.critic.kind;
if strcmp(kind, 'none')
  error('sb3:value:noCritic', ['Bundle %s has no value function: export it with ' ...
                               'critic=True (export_policy, MatlabExportCallback, or ' ...
                               'sb3-matlab export --critic).'], ...
        policy.path);
end
if ~strcmp(kind, 'value')
  error('sb3:value:wrongKind', ['%s has Q-values, not a state value function: use ' ...
                                'sb3.q_value(policy, obs%s).'], policy.algorithm, ...
        sb3.internal.ternary(strcmp(kind, 'q_continuous'), ', action', ''));
end
[state, starts] = sb3.internal.critic_options('value', varargin);
[v, state] = sb3.internal.run_critic(policy, obs, [], state, starts);
end
