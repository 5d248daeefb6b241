function returns = pendulum_closed_loop(save_path, varargin)
%PENDULUM_CLOSED_LOOP Closed-loop Pendulum-v1 in plain MATLAB/Octave with hot-reloaded SB3 policies.
%
%   RETURNS = pendulum_closed_loop(SAVE_PATH) simulates Gymnasium's
%   Pendulum-v1 (same dynamics, reward and 200-step episodes) in plain .m
%   code and drives it with the newest policy that MatlabExportCallback
%   committed to SAVE_PATH. Between episodes, sb3.poll hot-reloads the
%   policy when training has committed a newer one. Each episode's return is
%   printed and returned. Start it while training runs in Python to see
%   continuous delivery at work: returns improve as new versions arrive.
%
%   Only SAVE_PATH is needed: the training run copies the +sb3 runtime into
%   SAVE_PATH/matlab, which this function adds to the path. A relative
%   SAVE_PATH is taken from the current folder. As a function it leaves no
%   variables in the caller's workspace.
%
%   Options (name/value, defaults in brackets):
%     'NumEpisodes'    how many episodes to run [20]
%     'WaitSeconds'    how long to wait for the first policy [600]
%     'InitialStates'  K-by-2 [theta, theta_dot] episode starts [random, as Gymnasium]
%     'Seed'           random seed of the episode starts [0]
%
%   Usage (from the repository root, MATLAB or Octave):
%     addpath('examples/matlab'); pendulum_closed_loop('exports/pendulum')
%     octave-cli --eval "addpath('examples/matlab'); pendulum_closed_loop('exports/pendulum')"
%
%   Example:
%     addpath('examples/matlab');
%     returns = pendulum_closed_loop('exports/pendulum', 'NumEpisodes', 5);

if nargin < 1
  save_path = 'exports/pendulum';
end
if isa(save_path, 'string')
  save_path = char(save_path);
end
opts = struct('NumEpisodes', 20, 'WaitSeconds', 600, 'InitialStates', [], 'Seed', 0);
names = fieldnames(opts);
for k = 1:2:numel(varargin)
  match = find(strcmpi(char(varargin{k}), names));
  if isempty(match) || k == numel(varargin)
    error('pendulum:badOption', 'Options are name/value pairs: %s.', strjoin(names.', ', '));
  end
  opts.(names{match}) = varargin{k + 1};
end
num_episodes = opts.NumEpisodes;
wait_seconds = opts.WaitSeconds;
initial_states = opts.InitialStates;
seed = opts.Seed;

rng(seed);

% Pendulum-v1 constants (gymnasium/envs/classic_control/pendulum.py).
g = 10.0; mass = 1.0; len = 1.0; dt = 0.05;
max_speed = 8.0; max_torque = 2.0; horizon = 200;

% Wait for the first committed policy; the runtime arrives with the run's folder.
policy = [];
deadline = tic;
while isempty(policy)
  runtime = fullfile(save_path, 'matlab');
  if isfolder(fullfile(runtime, '+sb3'))
    if isempty(regexp(runtime, '^([A-Za-z]:)?[\\/]', 'once'))
      runtime = fullfile(pwd, runtime);  % addpath keeps working after a cd
    end
    addpath(runtime);
    policy = sb3.poll([], save_path);
  end
  if isempty(policy)
    if toc(deadline) > wait_seconds
      error('pendulum:noPolicy', 'No policy committed to %s within %g s.', save_path, wait_seconds);
    end
    pause(0.5);
  end
end
fprintf('loaded version %d (num_timesteps %d) from %s\n', policy.version, ...
        policy.num_timesteps, save_path);

returns = zeros(num_episodes, 1);
for episode = 1:num_episodes
  [policy, updated] = sb3.poll(policy, save_path);
  if updated
    fprintf('loaded version %d (num_timesteps %d)\n', policy.version, policy.num_timesteps);
  end
  if episode <= size(initial_states, 1)
    th = initial_states(episode, 1);
    thdot = initial_states(episode, 2);
  else
    th = (2 * rand() - 1) * pi;
    thdot = (2 * rand() - 1) * 1.0;
  end
  total = 0;
  for t = 1:horizon
    obs = [cos(th), sin(th), thdot];
    u = sb3.predict(policy, obs);
    u = min(max(u(1), -max_torque), max_torque);
    angle = mod(th + pi, 2 * pi) - pi;
    total = total - (angle^2 + 0.1 * thdot^2 + 0.001 * u^2);
    thdot = thdot + (3 * g / (2 * len) * sin(th) + 3.0 / (mass * len^2) * u) * dt;
    thdot = min(max(thdot, -max_speed), max_speed);
    th = th + thdot * dt;
  end
  returns(episode) = total;
  fprintf('episode %d: return %.4f (policy version %d)\n', episode, total, policy.version);
end
end
