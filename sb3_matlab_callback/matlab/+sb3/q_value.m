function [q, state] = q_value(policy, obs, varargin)
%Q_VALUE The Q-values of SB3's critics for an observation (and an action) or a batch.
%
%   Q = sb3.q_value(POLICY, OBS, ACTION) runs each Q-network of a SAC, TD3,
%   DDPG, TQC or CrossQ policy loaded by sb3.load_policy from a bundle
%   exported with critic=True, and returns N-by-n_critics double: column j
%   is SB3's policy.critic(obs, scaled action){j} (TQC: critic j's mean over
%   its quantiles). ACTION is in the env's action space, as sb3.predict
%   returns it (N-by-A, or one row or column of A elements for one
%   observation); the runtime scales it to [-1, 1] as SB3's
%   policy.scale_action does before its critics see it (the replay buffer
%   stores scaled actions).
%
%   Q = sb3.q_value(POLICY, OBS) for DQN and QR-DQN returns N-by-n_actions
%   double: q_net(obs) (QR-DQN: the mean over quantiles).
%
%   OBS is raw (before any VecNormalize), in the shapes sb3.predict takes.
%   [Q, STATE] = sb3.q_value(..., 'State', STATE, 'EpisodeStart', STARTS):
%   for a frame-stacked bundle OBS is single frames and STATE.stack the
%   stack, as in sb3.predict (keep a STATE apart from sb3.predict's).
%
%   Usage:
%     q = sb3.q_value(policy, obs, action)
%     q = sb3.q_value(policy, obs)
%     [q, state] = sb3.q_value(policy, frame, action, 'State', state, 'EpisodeStart', starts)
%
%   Example:
%     policy = sb3.load_policy('sac_with_critic.mat');
%     obs = [0.1 -0.2 0.3];
%     q = sb3.q_value(policy, obs, sb3.predict(policy, obs));   % 1-by-2
%
%   Errors: sb3:q_value:noCritic (exported without critic=True),
%   sb3:q_value:wrongKind (an on-policy bundle: use sb3.value; an action
%   given to DQN/QR-DQN or missing for SAC/...), sb3:q_value:badActionSize,
%   sb3:q_value:badAction, sb3:q_value:badOption, and sb3.predict's
%   observation and state errors.
%
%   See also sb3.value, sb3.predict, sb3.load_policy.

if ~isstruct(policy) || ~isfield(policy, 'critic')
  error('sb3:q_value:noCritic', 'POLICY must be a policy returned by sb3.load_policy.');
end
varargin = sb3.internal.text_args(varargin);
critic = policy.critic;
switch critic.kind
  case 'none'
    error('sb3:q_value:noCritic', ['Bundle %s has no Q-values: export it with critic=True ' ...
                                   '(export_policy, MatlabExportCallback, or sb3-matlab ' ...
                                   'export --critic).'], policy.path);
  case 'value'
    error('sb3:q_value:wrongKind', ['%s has a state value function, not Q-values: use ' ...
                                    'sb3.value(policy, obs).'], policy.algorithm);
end
continuous = strcmp(critic.kind, 'q_continuous');
options = varargin;
action = [];
if continuous
  if isempty(varargin) || ischar(varargin{1})
    error('sb3:q_value:wrongKind', ['%s''s critics take an action: ' ...
                                    'sb3.q_value(policy, obs, action).'], policy.algorithm);
  end
  action = varargin{1};
  options = varargin(2:end);
elseif ~isempty(varargin) && ~ischar(varargin{1})
  error('sb3:q_value:wrongKind', ['%s gives one Q-value per action: ' ...
                                  'sb3.q_value(policy, obs) takes no action.'], policy.algorithm);
end
[state, starts] = sb3.internal.critic_options('q_value', options);
scaled = [];
if continuous
  scaled = sb3.internal.scale_action(action, critic.action);
end
[q, state] = sb3.internal.run_critic(policy, obs, scaled, state, starts);
end
