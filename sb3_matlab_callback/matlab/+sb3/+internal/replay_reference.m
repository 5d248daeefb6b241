function [actions, values] = replay_reference(policy)
%REPLAY_REFERENCE Run a policy (and its critic) on its bundle's reference observations.
%
%   [ACTIONS, VALUES] = sb3.internal.replay_reference(POLICY) returns what
%   sb3.predict (deterministic) and, for a bundle exported with critic=True,
%   sb3.value or sb3.q_value (on the reference actions) give for
%   POLICY.reference.observations. A frame-stacked bundle's reference is one
%   env's sequence of single frames with its episode_starts: it is replayed
%   step by step, carrying the state, as VecFrameStack and SB3's predict
%   did at export. VALUES is [] without a critic.
%
%   Example:
%     [a, v] = sb3.internal.replay_reference(policy);
%
%   See also sb3.verify.

ref = policy.reference;
obs = ref.observations;
kind = policy.critic.kind;
with_values = nargout > 1 && ~strcmp(kind, 'none') && isfield(ref, 'critic');
values = [];
if ~isfield(ref, 'episode_starts')
  actions = sb3.predict(policy, obs);
  if with_values
    values = sb3.internal.critic_output(policy, kind, obs, double(ref.actions), [], []);
  end
  return;
end
starts = logical(ref.episode_starts(:));
actions = [];
state = [];
value_state = [];
for t = 1:numel(starts)
  frame = sb3.internal.take_row(obs, t);
  [a, state] = sb3.predict(policy, frame, 'State', state, 'EpisodeStart', starts(t));
  actions = [actions; a]; %#ok<AGROW>
  if with_values
    [v, value_state] = sb3.internal.critic_output(policy, kind, frame, ...
                                                  double(ref.actions(t, :)), value_state, ...
                                                  starts(t));
    values = [values; v]; %#ok<AGROW>
  end
end
end
