function [path, entry] = latest(save_path)
%LATEST Path of the newest committed bundle listed in save_path/manifest.json.
%
%   [PATH, ENTRY] = sb3.latest(SAVE_PATH) reads the manifest that
%   MatlabExportCallback commits into SAVE_PATH and returns the full path of
%   the newest bundle and its manifest entry (ENTRY.version,
%   ENTRY.num_timesteps, ENTRY.file, ENTRY.sha256, ENTRY.bytes,
%   ENTRY.created, ENTRY.ep_rew_mean, ENTRY.trigger). Before returning, it checks that the
%   file is complete: its size and, where the platform can hash (Octave, or
%   MATLAB with Java), its sha256 match the manifest.
%
%   SAVE_PATH may be a char vector or a string scalar. Only regular files
%   are opened (a FIFO in the folder cannot block the reader), and a manifest
%   larger than 16 MiB or nested deeper than 16 levels is refused before it
%   is decoded (sb3:latest:badManifest).
%
%   Every file name in the manifest must be a bare name in SAVE_PATH (no
%   folder, drive or '..'): sb3.latest never opens a path outside it.
%
%   Training may replace the manifest or delete old bundles (keep_last) at any
%   moment; sb3.latest then reads the manifest again, for about 4 s at most.
%   Permanent errors fail at once: a manifest that breaks its rules (first
%   attempt), one that stays unparseable, or a bundle whose size or sha256
%   differs from an unchanged manifest twice in a row (second attempt). The
%   message names the attempt.
%   The returned file may still be deleted later by retention: to load the
%   newest policy robustly, use sb3.poll.
%
%   Usage:
%     path = sb3.latest(save_path)
%     [path, entry] = sb3.latest(save_path)
%
%   Example:
%     [path, entry] = sb3.latest('exports/run1');
%     policy = sb3.load_policy(path);
%     fprintf('version %d after %d steps\n', entry.version, entry.num_timesteps);
%
%   Errors: sb3:latest:badArgument, sb3:latest:noManifest,
%   sb3:latest:badManifest, sb3:latest:unavailable.
%
%   See also sb3.poll, sb3.load_policy.

args = sb3.internal.text_args({save_path});
save_path = args{1};
if ~ischar(save_path) || isempty(save_path) || size(save_path, 1) ~= 1
  error('sb3:latest:badArgument', 'save_path must be a non-empty char vector or string.');
end
attempts = 20;
memo = [];
for attempt = 1:attempts
  [m, text, kind, err] = sb3.internal.read_manifest(save_path, 'latest');
  if strcmp(kind, 'none')
    error(err);
  elseif strcmp(kind, 'ok')
    entry = m.checkpoints{end};
    path = fullfile(save_path, entry.file);
    try
      sb3.internal.check_file(path, entry, 'latest');
      return;
    catch err
      kind = 'file';
      if strcmp(err.identifier, 'sb3:latest:missingFile')
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
id = sb3.internal.retry_error_id('latest', last);
error(id, ['No complete bundle could be read from %s; gave up at attempt %d of %d (%s): ' ...
           '%s: %s'], save_path, attempt, attempts, kind, last.identifier, last.message);
end
