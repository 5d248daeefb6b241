function runs = runs(root, previous)
%RUNS List the training runs (export folders) under an experiment's root.
%
%   RUNS = sb3.runs(ROOT) returns an N-by-1 struct array with one element per
%   export folder under ROOT, sorted by name. An export folder is a folder
%   with a manifest.json: ROOT itself, or a folder up to 3 levels below it
%   (run_experiment writes ROOT/NAME; an rl-zoo3 save_path with placeholders
%   may nest deeper). Each element has the fields:
%     name           the folder's path under ROOT, with '/' (ROOT's own name
%                    when ROOT is an export folder)
%     path           the folder, for sb3.poll and sb3.latest
%     algorithm      e.g. 'SAC'
%     env_id         the Gymnasium id ('' where unknown)
%     seed           the run's seed (NaN where unknown)
%     latest         the newest committed version
%     num_timesteps  its timesteps
%     ep_rew_mean    its mean training episode return (NaN where unknown)
%     updated        true when the run is new or its latest version is newer
%                    than in PREVIOUS (below); always true without PREVIOUS
%
%   RUNS = sb3.runs(ROOT, PREVIOUS) compares with PREVIOUS, the result of an
%   earlier call, to set UPDATED: poll ROOT in a loop and reload only the
%   runs that changed.
%
%   A folder without a manifest yet (no checkpoint committed) is not an
%   export folder yet and is left out. A manifest that cannot be opened or
%   parsed is read again a few times while it changes, since training may
%   be replacing it; if it stays corrupt, or breaks the manifest's rules
%   (checked as sb3.latest does, file names included), the folder is left
%   out with the warning sb3:runs:badManifest, which names it. Folders
%   that hold the +sb3 runtime, and folders whose names start with '.', '+'
%   or '@', are not searched.
%
%   Usage:
%     runs = sb3.runs(root)
%     runs = sb3.runs(root, previous)
%
%   Example:
%     runs = sb3.runs('exports/experiment');
%     for k = 1:numel(runs)
%       policy = sb3.poll([], runs(k).path);
%       fprintf('%s: %s version %d\n', runs(k).name, runs(k).algorithm, policy.version);
%     end
%     later = sb3.runs('exports/experiment', runs);   % later.updated marks new versions
%
%   Errors and warnings: sb3:runs:badArgument, sb3:runs:notFound,
%   sb3:runs:badManifest (a warning).
%
%   See also sb3.poll, sb3.latest.

if nargin < 2
  previous = [];
end
if isa(root, 'string') && numel(root) == 1
  root = char(root);
end
if ~ischar(root) || isempty(root) || size(root, 1) ~= 1
  error('sb3:runs:badArgument', 'root must be a non-empty char vector or string scalar.');
end
if ~isempty(previous) && ...
   ~(isstruct(previous) && isfield(previous, 'name') && isfield(previous, 'latest'))
  error('sb3:runs:badArgument', 'previous must be [] or a struct array returned by sb3.runs.');
end
if ~isfolder(root)
  error('sb3:runs:notFound', 'Experiment root %s is not a folder.', root);
end

[paths, names] = sb3.internal.export_folders(root, 3);
runs = reshape(struct('name', {}, 'path', {}, 'algorithm', {}, 'env_id', {}, 'seed', {}, ...
                      'latest', {}, 'num_timesteps', {}, 'ep_rew_mean', {}, 'updated', {}), 0, 1);
attempts = 5;
for i = 1:numel(paths)
  memo = [];
  for attempt = 1:attempts
    [m, text, kind, err] = sb3.internal.read_manifest(paths{i}, 'runs');
    if any(strcmp(kind, {'ok', 'none'}))
      break;
    end
    [give_up, memo] = sb3.internal.retry_verdict(kind, text, memo);
    if give_up || attempt == attempts
      break;
    end
    sb3.internal.retry_pause(attempt);
  end
  if ~strcmp(kind, 'ok')
    if ~strcmp(kind, 'none')
      warning('sb3:runs:badManifest', 'sb3.runs skips %s (attempt %d): %s', paths{i}, ...
              attempt, err.message);
    end
    continue
  end
  info = struct();
  if isfield(m, 'run') && isstruct(m.run) && isscalar(m.run)
    info = m.run;
  end
  newest = m.checkpoints{end};
  env_id = '';
  if isfield(info, 'env_id') && ischar(info.env_id)
    env_id = info.env_id;
  end
  seed = NaN;
  if isfield(info, 'seed') && isnumeric(info.seed) && isscalar(info.seed) && isreal(info.seed)
    seed = double(info.seed);
  end
  reward = NaN;
  if isfield(newest, 'ep_rew_mean') && isnumeric(newest.ep_rew_mean) && isscalar(newest.ep_rew_mean)
    reward = double(newest.ep_rew_mean);
  end
  updated = true;
  if ~isempty(previous)
    k = find(strcmp({previous.name}, names{i}), 1);
    if ~isempty(k)
      updated = double(m.latest) > double(previous(k).latest);
    end
  end
  runs(end + 1, 1) = struct('name', names{i}, 'path', paths{i}, 'algorithm', char(m.algorithm), ...
                            'env_id', env_id, 'seed', seed, 'latest', double(m.latest), ...
                            'num_timesteps', double(newest.num_timesteps), ...
                            'ep_rew_mean', reward, 'updated', updated); %#ok<AGROW>
end
end
