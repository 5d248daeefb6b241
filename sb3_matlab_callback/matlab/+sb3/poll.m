function [policy, updated] = poll(policy, save_path, varargin)
%POLL Load the newest committed policy from save_path when it is not the one in use.
%
%   [POLICY, UPDATED] = sb3.poll(POLICY, SAVE_PATH) returns the newest policy
%   that MatlabExportCallback committed to SAVE_PATH/manifest.json. When
%   POLICY already is that version, it returns POLICY itself and UPDATED =
%   false, cheaply: when the manifest's size and modification time are
%   those of the last poll, nothing is read at all (see below). Otherwise it
%   reads the manifest and, for a new checkpoint, checks the
%   new bundle (size and, where the platform can hash, sha256), loads it with
%   POLICY's precision and returns it with UPDATED = true. POLICY may be []
%   (nothing loaded yet); while SAVE_PATH has no manifest, [] and false come
%   back. Call it between episodes to hot-reload policies while training runs.
%
%   Training may replace the manifest or delete old bundles (keep_last) at any
%   moment: sb3.poll then reads the manifest again, for about 4 s at most. It
%   never returns a half-written policy. Permanent errors end the retries at
%   once: a manifest that breaks its rules (sb3:poll:badManifest: a file
%   name that is not a bare name in SAVE_PATH, versions not ascending, ...)
%   or a bundle that differs from an unchanged manifest, or fails to load,
%   twice in a row. If no complete new policy could be loaded, it warns
%   (sb3:poll:unavailable or sb3:poll:badManifest) and keeps POLICY, or
%   raises that error when POLICY is []. The message names the attempt.
%
%   The cheap check: POLICY.poll_stamp records the manifest's size and
%   modification time as this poll found them, but only when that time was
%   more than 2 s before the poll (file times may be as coarse as 1 s, so a
%   replace within the same second is never missed). While both are
%   unchanged, sb3.poll returns POLICY without reading anything; it reads
%   the manifest in full at least every 10 s all the same. The stamp lives
%   in POLICY, so polling several folders never mixes them up.
%
%   A checkpoint is identified by its version, file name, sha256 and the
%   manifest's run_id (where present): after the export folder is deleted
%   and training restarts, the new run's policy is loaded even where its
%   version number and file name equal the old one's. A policy that sb3.poll
%   did not load itself (from sb3.load_policy) has no recorded sha256 and is
%   reloaded once. SAVE_PATH and the option name may be char vectors or
%   string scalars.
%
%   The next checkpoint of the program POLICY runs (same ops, registers and
%   sizes: the usual case during training) is loaded cheaply: read from the
%   very bytes whose sha256 was checked, when every byte but the new values
%   equals the last version's file (the map POLICY carries), or else loaded
%   and compared with POLICY's variables; then only the new weights,
%   VecNormalize statistics and the fast path are compiled
%   (sb3.internal.reload_policy). Any other bundle is loaded and checked in
%   full by sb3.load_policy, and the policy poll returns carries a map of its
%   file for the next version.
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

verify = false;
if nargin > 2 || ~ischar(save_path)
  args = sb3.internal.text_args([{save_path}, varargin]);
  save_path = args{1};
  if ~ischar(save_path) || isempty(save_path) || size(save_path, 1) ~= 1
    error('sb3:poll:badArgument', 'save_path must be a non-empty char vector or string.');
  end
  if numel(args) == 3 && ischar(args{2}) && strcmpi(args{2}, 'Verify')
    verify = logical(args{3});
  elseif nargin > 2
    error('sb3:poll:badOption', 'The only option is ''Verify'' with value true or false.');
  end
end
updated = false;
% Nothing new, the common case, first: the manifest has the size and modification time it
% had when this policy was checked against it, and that time was more than 2 s before the
% check (timestamps may be as coarse as 1 s: a replace within the same second could keep
% both). Checked in full at least every 10 s all the same, against clocks that disagree.
% save_path is char here: strcmp gives one logical (MATLAB's && needs a scalar).
if isfield(policy, 'poll_stamp') && ~isempty(policy.poll_stamp) && ...
   strcmp(policy.poll_stamp.save_path, save_path)
  stamp = policy.poll_stamp;
  [bytes, mtime, clock_now] = sb3.internal.file_stamp(stamp.file);
  if bytes == stamp.bytes && mtime == stamp.mtime && clock_now - stamp.checked < 10
    return;
  end
end
if isempty(save_path) || size(save_path, 1) ~= 1
  error('sb3:poll:badArgument', 'save_path must be a non-empty char vector or string.');
end
if ~isempty(policy) && ~(isstruct(policy) && isfield(policy, 'version') && isfield(policy, 'path'))
  error('sb3:poll:badArgument', 'policy must be [] or a policy from sb3.load_policy.');
end
precision = 'single';
if ~isempty(policy) && isfield(policy, 'precision')
  precision = policy.precision;
end

% fullfile costs Octave about 0.1 ms: the manifest's path is kept for the last save_path
% (it depends on the text of save_path alone, not on the current folder).
persistent last_save_path last_file
if ~strcmp(save_path, last_save_path)
  last_file = fullfile(save_path, 'manifest.json');
  last_save_path = save_path;
end
file = last_file;
attempts = 20;
memo = [];
for attempt = 1:attempts
  % The stamp is taken before the read: a replace in between changes it again later.
  [bytes, mtime, clock_now] = sb3.internal.file_stamp(file);
  [m, text, kind, err] = sb3.internal.read_manifest(save_path, 'poll', file, bytes);
  if strcmp(kind, 'none')
    return;  % nothing committed yet
  elseif strcmp(kind, 'ok')
    stamp = [];
    if bytes >= 0 && clock_now - mtime > 2
      stamp = struct('save_path', save_path, 'file', file, 'bytes', bytes, 'mtime', mtime, ...
                     'checked', clock_now);
    end
    entry = m.checkpoints{end};
    run_id = '';
    if isfield(entry, 'run_id')
      run_id = entry.run_id;
    elseif isfield(m, 'run_id')
      run_id = m.run_id;
    end
    % fullfile(save_path, entry.file), entry.file a bare name (fullfile is slow in Octave).
    path = [file(1:end - numel('manifest.json')), entry.file];
    if ~isempty(policy)
      % The same checkpoint: same version, file, sha256 and run. A run restarted in a
      % fresh folder reuses version numbers and file names, never the sha256. The file
      % is the name policy.path ends with (fileparts, an m-file in Octave, costs more).
      n = numel(entry.file);
      tail = numel(policy.path) - n;
      if isnumeric(policy.version) && isscalar(policy.version) && ...
         policy.version == entry.version && ...
         tail >= 0 && strcmp(policy.path(tail + 1:end), entry.file) && ...
         (tail == 0 || any(policy.path(tail) == '/\')) && ...
         isfield(policy, 'sha256') && ~isempty(policy.sha256) && ...
         strcmpi(policy.sha256, entry.sha256) && isfield(policy, 'run_id') && ...
         strcmp(policy.run_id, run_id)
        policy.poll_stamp = stamp;
        return;  % already running the newest: no reload
      end
    end
    try
      bytes = sb3.internal.check_file(path, entry, 'poll');
      % The next checkpoint of the program in use: only what differs is checked and
      % compiled (sb3.internal.reload_policy, from the bytes just hashed); anything else
      % is loaded in full, with a map of its bytes for the next version.
      candidate = [];
      if ~isempty(policy)
        candidate = sb3.internal.reload_policy(path, policy, precision, bytes);
      end
      if isempty(candidate)
        candidate = sb3.load_policy(path, 'Precision', precision);
        if ~isempty(candidate.skeleton)
          candidate.skeleton.map = sb3.internal.reload_map(candidate.skeleton.S, bytes);
        end
      end
      if ~(isnumeric(candidate.version) && isscalar(candidate.version) && ...
           candidate.version == entry.version)
        error('sb3:poll:badFile', 'Bundle %s holds version %s; the manifest says %d.', ...
              path, mat2str(candidate.version), entry.version);
      end
      candidate.sha256 = entry.sha256;
      candidate.run_id = run_id;
      if verify
        sb3.verify(candidate);
      end
      candidate.poll_stamp = stamp;
      policy = candidate;
      updated = true;
      return;
    catch err
      kind = 'file';
      if strcmp(err.identifier, 'sb3:poll:missingFile')
        kind = 'missing';
      end
    end
  end
  last = err;
  [give_up, memo] = sb3.internal.retry_verdict(kind, text, memo);
  if give_up || attempt == attempts
    break;
  end
  sb3.internal.retry_pause(attempt);
end
id = sb3.internal.retry_error_id('poll', last);
message = sprintf(['No complete new policy could be loaded from %s; gave up at attempt %d ' ...
                   'of %d (%s): %s: %s'], save_path, attempt, attempts, kind, ...
                  last.identifier, last.message);
if isempty(policy)
  error(id, '%s', message);
end
warning(id, '%s Keeping version %d.', message, policy.version);
end
