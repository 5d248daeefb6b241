function results = compare_algorithms(root, varargin)
%COMPARE_ALGORITHMS Compare every run of an experiment in a plain-.m Pendulum-v1.
%
%   RESULTS = compare_algorithms(ROOT) lists the runs under ROOT with
%   sb3.runs, loads each run's newest policy with sb3.poll (and, with
%   'History', every older version still on disk), runs it in Gymnasium's
%   Pendulum-v1 written in plain .m code from the same initial states, prints
%   a table (run, algorithm, version, timesteps, mean return) and plots the
%   mean return against timesteps, one line per run, one colour per
%   algorithm. In a headless session (no display) the plot is saved as a PNG
%   file, by default ROOT/compare_algorithms.png.
%
%   While the experiment trains, 'Watch' keeps polling: each new version is
%   evaluated, the table printed again and the plot redrawn, so the curves
%   grow. It stops once every run's newest version is its training-end
%   export, or after 'Watch' seconds.
%
%   Options (name/value):
%     'Episodes'  initial states, the same for every run [10]
%     'History'   also evaluate the older versions still on disk [true]
%     'Watch'     seconds to keep polling; 0 evaluates once [0]
%     'Interval'  seconds between polls while watching [5]
%     'PlotFile'  PNG file to save the plot to; '' saves only when headless,
%                 to ROOT/compare_algorithms.png ['']
%
%   RESULTS is a struct array, one element per run, with fields run,
%   algorithm, version, num_timesteps, mean_return (of the newest version;
%   NaN for a run that is not on Pendulum-v1) and history (K-by-3: version,
%   timesteps, mean return of every evaluated version).
%
%   Usage:
%     results = compare_algorithms(root)
%     results = compare_algorithms(root, 'Watch', 600, 'Interval', 10)
%
%   Example (from the repository root, after python examples/multi_algorithm.py):
%     addpath('examples/matlab');
%     addpath('exports/experiment/SAC-0/matlab');   % or the output of: sb3-matlab matlab-path
%     results = compare_algorithms('exports/experiment');
%
%   See also sb3.runs, sb3.poll, sb3.predict.

if isa(root, 'string')
  root = char(root);
end
opts = parse_options(varargin);
add_runtime(root);
[th0, thdot0] = initial_states(opts.Episodes);
results = struct('run', {}, 'algorithm', {}, 'version', {}, 'num_timesteps', {}, ...
                 'mean_return', {}, 'history', {});
policies = struct('name', {}, 'policy', {});
runs = [];
started = tic;
while true
  runs = sb3.runs(root, runs);
  [results, policies] = evaluate_runs(runs, results, policies, th0, thdot0, opts.History);
  print_table(results);
  plot_results(results, root, opts.PlotFile);
  finished = all_finished(runs);
  if opts.Watch <= 0 || finished || toc(started) + opts.Interval > opts.Watch
    break
  end
  pause(opts.Interval);
end
end

function opts = parse_options(args)
opts = struct('Episodes', 10, 'History', true, 'Watch', 0, 'Interval', 5, 'PlotFile', '');
if mod(numel(args), 2) ~= 0
  error('compare:badOption', 'Options come in name/value pairs.');
end
names = fieldnames(opts);
for k = 1:2:numel(args)
  name = args{k};
  if isa(name, 'string')
    name = char(name);
  end
  match = strcmpi(names, name);
  if ~ischar(name) || ~any(match)
    error('compare:badOption', 'Unknown option; the options are %s.', strjoin(names.', ', '));
  end
  value = args{k + 1};
  if isa(value, 'string')
    value = char(value);
  end
  opts.(names{match}) = value;
end
end

function add_runtime(root)
% Put the +sb3 runtime on the path, from the first run folder that carries one.
if ~isempty(which('sb3.runs'))
  return
end
listing = dir(root);
for k = 1:numel(listing)
  runtime = fullfile(root, listing(k).name, 'matlab');
  if listing(k).isdir && listing(k).name(1) ~= '.' && exist(fullfile(runtime, '+sb3'), 'dir') == 7
    addpath(runtime);
    return
  end
end
error('compare:noRuntime', ['The +sb3 runtime is not on the path and no run under %s ' ...
                            'carries one yet: addpath the output of ' ...
                            'sb3-matlab matlab-path.'], root);
end

function [th0, thdot0] = initial_states(count)
% The same spread of starts for every run: angles around the circle, speeds in [-1, 1].
th0 = -pi + 2 * pi * ((1:count).' - 0.5) / count;
thdot0 = cos(3 * (1:count).');
end

function [results, policies] = evaluate_runs(runs, results, policies, th0, thdot0, history)
for k = 1:numel(runs)
  run = runs(k);
  slot = find(strcmp({policies.name}, run.name), 1);
  if isempty(slot)
    slot = numel(policies) + 1;
    policies(slot).name = run.name;
    policies(slot).policy = [];
    results(slot).run = run.name;
    results(slot).algorithm = run.algorithm;
    results(slot).version = NaN;
    results(slot).num_timesteps = NaN;
    results(slot).mean_return = NaN;
    results(slot).history = zeros(0, 3);
  end
  if ~strcmp(run.env_id, 'Pendulum-v1')
    continue
  end
  policy = sb3.poll(policies(slot).policy, run.path);
  if isempty(policy)
    continue
  end
  policies(slot).policy = policy;
  found = results(slot).history;
  if history
    found = evaluate_files(run.path, found, th0, thdot0);
  end
  if ~any(found(:, 1) == policy.version)
    found = add_point(found, policy, th0, thdot0);
  end
  [unused, order] = sort(found(:, 2)); %#ok<ASGLU>
  found = found(order, :);
  results(slot).history = found;
  row = find(found(:, 1) == policy.version, 1);
  results(slot).version = policy.version;
  results(slot).num_timesteps = policy.num_timesteps;
  results(slot).mean_return = found(row, 3);
end
end

function found = evaluate_files(folder, found, th0, thdot0)
% Every bundle still on disk that is not evaluated yet; retention may delete one meanwhile.
listing = dir(fullfile(folder, '*_v*.mat'));
for k = 1:numel(listing)
  try
    policy = sb3.load_policy(fullfile(folder, listing(k).name));
  catch
    continue
  end
  if ~any(found(:, 1) == policy.version)
    found = add_point(found, policy, th0, thdot0);
  end
end
end

function found = add_point(found, policy, th0, thdot0)
returns = pendulum_returns(policy, th0, thdot0);
found(end + 1, :) = [double(policy.version), double(policy.num_timesteps), mean(returns)];
end

function total = pendulum_returns(policy, th, thdot)
% Gymnasium's Pendulum-v1 (dynamics, reward, 200-step episodes), every start at once.
g = 10.0;
mass = 1.0;
len = 1.0;
dt = 0.05;
max_speed = 8.0;
max_torque = 2.0;
horizon = 200;
total = zeros(size(th));
for t = 1:horizon
  u = double(sb3.predict(policy, [cos(th), sin(th), thdot]));
  u = min(max(u(:, 1), -max_torque), max_torque);
  angle = mod(th + pi, 2 * pi) - pi;
  total = total - (angle.^2 + 0.1 * thdot.^2 + 0.001 * u.^2);
  thdot = thdot + (3 * g / (2 * len) * sin(th) + 3.0 / (mass * len^2) * u) * dt;
  thdot = min(max(thdot, -max_speed), max_speed);
  th = th + thdot * dt;
end
end

function print_table(results)
fprintf('\n%-24s %-10s %8s %10s %12s\n', 'run', 'algorithm', 'version', 'timesteps', 'mean return');
for k = 1:numel(results)
  r = results(k);
  fprintf('%-24s %-10s %8d %10d %12.2f\n', r.run, r.algorithm, r.version, r.num_timesteps, ...
          r.mean_return);
end
end

function plot_results(results, root, plot_file)
headless = is_headless();
if isempty(plot_file) && headless
  plot_file = fullfile(root, 'compare_algorithms.png');
end
if isempty(results) || (headless && isempty(plot_file))
  return
end
visible = 'on';
if headless
  visible = 'off';
end
state = warning('off', 'Octave:gnuplot-graphics');   % octave-cli plots through gnuplot
fig = figure(4711);
warning(state);
set(fig, 'Visible', visible);
clf(fig);
algorithms = unique({results.algorithm});
colors = lines(max(numel(algorithms), 1));
hold on;
names = {};
for k = 1:numel(results)
  h = results(k).history;
  if isempty(h)
    continue
  end
  color = colors(strcmp(algorithms, results(k).algorithm), :);
  plot(h(:, 2), h(:, 3), '-o', 'Color', color, 'LineWidth', 1.5);
  names{end + 1} = sprintf('%s (%s)', results(k).run, results(k).algorithm); %#ok<AGROW>
end
hold off;
grid on;
xlabel('timesteps');
ylabel('mean return (Pendulum-v1, .m simulation)');
title('Mean return against training timesteps');
if ~isempty(names)
  legend(names, 'Location', 'southeast', 'Interpreter', 'none');
end
drawnow;
if ~isempty(plot_file)
  print(fig, '-dpng', plot_file);
  fprintf('saved the plot to %s\n', plot_file);
end
end

function headless = is_headless()
% No display to show a figure on: Linux without DISPLAY, or MATLAB without Java's AWT.
headless = isunix() && ~ismac() && isempty(getenv('DISPLAY'));
if exist('OCTAVE_VERSION', 'builtin') == 0
  headless = headless || ~usejava('awt');
end
end

function done = all_finished(runs)
% Whether every run's newest version is its training-end export.
done = ~isempty(runs);
for k = 1:numel(runs)
  [unused, entry] = sb3.latest(runs(k).path); %#ok<ASGLU>
  done = done && isfield(entry, 'trigger') && strcmp(entry.trigger, 'training_end');
end
end
