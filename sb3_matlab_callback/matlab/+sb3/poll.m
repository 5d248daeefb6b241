function [policy, updated] = poll(policy, save_path, varargin)
%POLL Load the newest committed policy from save_path when it is not the one in use.
%
%   [POLICY, UPDATED] = sb3.poll(POLICY, SAVE_PATH) returns the newest policy
%   that MatlabExportCallback committed to SAVE_PATH/manifest.json. When
%   POLICY already is that version, it returns POLICY itself and UPDATED =
%   false, cheaply (one small manifest read, no reload). Otherwise it checks the
%   new bundle (size and, where the platform can hash, sha256), loads it with
%   POLICY's precision and returns it with UPDATED = true. POLICY may be []
%   (nothing loaded yet); while SAVE_PATH has no manifest, [] and false come
%   back. Call it between episodes to hot-reload policies while training runs.
%
%   Training may replace the manifest or delete old bundles (keep_last) at any
%   moment: sb3.poll then reads the manifest again, for about 4 s at most. It
%   never returns a half-written policy. If no complete new policy could be
%   loaded by then, it warns (sb3:poll:unavailable) and keeps POLICY, or
%   raises that error when POLICY is [].
%
%   A checkpoint is identified by its version, file name, sha256 and the
%   manifest's run_id (where present): after the export folder is deleted
%   and training restarts, the new run's policy is loaded even where its
%   version number and file name equal the old one's. A policy that sb3.poll
%   did not load itself (from sb3.load_policy) has no recorded sha256 and is
%   reloaded once. SAVE_PATH and the option name may be char vectors or
%   string scalars.
%
%   [POLICY, UPDATED] = sb3.poll(POLICY, SAVE_PATH, 'Verify', true) also runs
%   sb3.verify on each newly loaded policy.
%
%   Usage:
%     [policy, updated] = sb3.poll(policy, save_path)
%     [policy, updated] = sb3.poll([], save_path, 'Verify', true)
%
%   Example:
%     policy = [];
%     while isempty(policy)
%       policy = sb3.poll(policy, 'exports/run1');
%       pause(1);
%     end
%     for episode = 1:100
%       [policy, updated] = sb3.poll(policy, 'exports/run1');
%       if updated, fprintf('now running version %d\n', policy.version); end
%       % ... run one episode with sb3.predict(policy, obs) ...
%     end
%
%   Errors and warnings: sb3:poll:badArgument, sb3:poll:badOption,
%   sb3:poll:badManifest, sb3:poll:unavailable.
%
%   See also sb3.latest, sb3.load_policy, sb3.predict.

args = sb3.internal.text_args([{save_path}, varargin]);
save_path = args{1};
varargin = args(2:end);
if ~ischar(save_path) || isempty(save_path) || size(save_path, 1) ~= 1
  error('sb3:poll:badArgument', 'save_path must be a non-empty char vector or string.');
end
if ~isempty(policy) && ~(isstruct(policy) && isfield(policy, 'version') && isfield(policy, 'path'))
  error('sb3:poll:badArgument', 'policy must be [] or a policy from sb3.load_policy.');
end
verify = false;
if numel(varargin) == 2 && ischar(varargin{1}) && strcmpi(varargin{1}, 'Verify')
  verify = logical(varargin{2});
elseif ~isempty(varargin)
  error('sb3:poll:badOption', 'The only option is ''Verify'' with value true or false.');
end
precision = 'single';
if ~isempty(policy) && isfield(policy, 'precision')
  precision = policy.precision;
end

updated = false;
attempts = 20;
for attempt = 1:attempts
  try
    m = sb3.internal.read_manifest(save_path, 'poll');
    entry = m.checkpoints{end};
    run_id = '';
    if isfield(entry, 'run_id') && ischar(entry.run_id)
      run_id = entry.run_id;
    elseif isfield(m, 'run_id') && ischar(m.run_id)
      run_id = m.run_id;
    end
    if ~isempty(policy)
      % The same checkpoint: same version, file, sha256 and run. A run restarted in a
      % fresh folder reuses version numbers and file names, never the sha256.
      [~, name, ext] = fileparts(policy.path);
      if isequal(policy.version, entry.version) && strcmp([name ext], entry.file) && ...
         isfield(policy, 'sha256') && ~isempty(policy.sha256) && ...
         strcmpi(policy.sha256, entry.sha256) && isfield(policy, 'run_id') && ...
         strcmp(policy.run_id, run_id)
        return;  % already running the newest: no reload
      end
    end
    path = fullfile(save_path, entry.file);
    sb3.internal.check_file(path, entry, 'poll');
    candidate = sb3.load_policy(path, 'Precision', precision);
    if candidate.version ~= entry.version
      error('sb3:poll:badFile', 'Bundle %s holds version %d; the manifest says %d.', ...
            path, candidate.version, entry.version);
    end
    candidate.sha256 = lower(entry.sha256);
    candidate.run_id = run_id;
    if verify
      sb3.verify(candidate);
    end
    policy = candidate;
    updated = true;
    return;
  catch err
    if strcmp(err.identifier, 'sb3:poll:noManifest')
      return;  % nothing committed yet
    end
    last = err;
  end
  if attempt < attempts
    sb3.internal.retry_pause(attempt);
  end
end
id = sb3.internal.retry_error_id('poll', last);
message = sprintf('No complete new policy could be loaded from %s after %d attempts: %s', ...
                  save_path, attempts, last.message);
if isempty(policy)
  error(id, '%s', message);
end
warning(id, '%s Keeping version %d.', message, policy.version);
end
