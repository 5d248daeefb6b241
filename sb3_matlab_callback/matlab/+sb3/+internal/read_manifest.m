function [m, text, kind, err] = read_manifest(save_path, caller, file, bytes)
%READ_MANIFEST Read, decode and check save_path/manifest.json once.
%
%   [M, TEXT, KIND, ERR] = sb3.internal.read_manifest(SAVE_PATH, CALLER)
%   reads the manifest once and never retries: sb3.latest, sb3.poll and
%   sb3.runs do, according to KIND. TEXT is the text read ('' when none).
%   KIND is one of:
%     'ok'          M is the decoded manifest, M.checkpoints a 1-by-N cell
%                   array of structs, every rule checked; ERR is [].
%     'none'        there is no manifest.json (sb3:CALLER:noManifest).
%     'invalid'     a permanent error (sb3:CALLER:badManifest): it is not
%                   a regular file, is larger than 16 MiB, or is JSON that
%                   breaks a rule of the manifest.
%     'busy'        it exists but cannot be opened (on Windows, while it is
%                   being replaced); sb3:CALLER:badManifest.
%     'unreadable'  its text is not JSON or nests deeper than 16 levels
%                   (sb3:CALLER:badManifest): transient only while the text
%                   changes (a copy in progress on a file system without
%                   atomic rename).
%   ERR is the error to raise, error(ERR): a struct with the fields identifier
%   and message, which names the file and the problem.
%
%   The rules (docs/delivery.md), as the Python package checks them: format
%   'sb3-matlab-manifest', format_version 1, a non-empty algorithm, a
%   non-empty list of checkpoints, each with a positive integer version, a
%   bare file name (sb3.internal.is_bare_name: no '/', '\', ':', '..'),
%   integer num_timesteps and bytes, a 64-digit lowercase hex sha256 and a
%   created text; versions ascending, no file listed twice, latest the
%   highest version; run_id text and next_version above latest where
%   present. A file name is checked before anything uses it: no path from
%   the manifest is ever opened unless it is a bare name.
%
%   FILE (optional) is fullfile(SAVE_PATH, 'manifest.json'), when the
%   caller has it already (fullfile costs Octave about 0.1 ms). BYTES
%   (optional) is its size as the caller found it just before (from
%   sb3.internal.file_stamp): the size limit is then checked on it without
%   asking again. The text read is bounded and checked all the same.
%
%   Usage:
%     [m, text, kind, err] = sb3.internal.read_manifest(save_path, 'latest')
%
%   Example:
%     [m, ~, kind, err] = sb3.internal.read_manifest('exports/run1', 'latest');
%     if ~strcmp(kind, 'ok'), error(err); end
%     fprintf('latest version %d\n', m.latest);
%
%   See also sb3.latest, sb3.poll, sb3.runs, sb3.internal.is_bare_name.

m = [];
text = '';
kind = 'unreadable';
err = [];
if nargin < 3
  file = fullfile(save_path, 'manifest.json');
end
bad = ['sb3:' caller ':badManifest'];
% Only a path that exists and is no regular file, twice, is a permanent verdict: a
% replace may swap the file at any instant (some file systems, e.g. overlays, show it
% missing for a moment), and a missing manifest is 'none' (retried by the callers).
found = sb3.internal.file_kind(file);
if strcmp(found, 'other')
  found = sb3.internal.file_kind(file);
end
if strcmp(found, 'missing')
  kind = 'none';
  message = sprintf('No manifest in %s (no checkpoint committed yet?): %s not found.', ...
                    save_path, file);
  err = struct('identifier', ['sb3:' caller ':noManifest'], 'message', message);
  return;
elseif strcmp(found, 'other')
  kind = 'invalid';
  message = sprintf('%s is not a regular file.', file);
  err = struct('identifier', bad, 'message', message);
  return;
end
% Bound what jsondecode sees: deep nesting crashes some decoders (Octave segfaults).
if nargin < 4
  bytes = sb3.internal.file_stamp(file);
end
if bytes > 16 * 2^20
  kind = 'invalid';
  message = sprintf('%s is larger than 16 MiB: not a manifest.', file);
  err = struct('identifier', bad, 'message', message);
  return;
end
fid = fopen(file, 'r');
if fid < 0
  kind = 'busy';
  message = sprintf('Cannot open %s.', file);
  err = struct('identifier', bad, 'message', message);
  return;
end
text = fread(fid, 16 * 2^20 + 1, '*char').';
fclose(fid);
% Nesting depth outside strings: a running count of the brackets outside strings. Without
% a backslash every '"' opens or closes a string (an odd count before a bracket puts it
% inside one); with one, strings are removed by a regular expression (slower).
if any(text == '\')
  bare = regexprep(text, '"(?:[^"\\]|\\.)*"', '""');
  depth = cumsum((bare == '[' | bare == '{') - (bare == ']' | bare == '}'));
else
  outside = mod(cumsum(text == '"'), 2) == 0;
  depth = cumsum(((text == '[' | text == '{') - (text == ']' | text == '}')) .* outside);
end
if numel(text) > 16 * 2^20 || (~isempty(depth) && max(depth) > 16)
  message = sprintf('%s is larger than 16 MiB or nests JSON deeper than 16 levels.', file);
  err = struct('identifier', bad, 'message', message);
  return;
end
try
  m = jsondecode(text);
catch decode_error
  m = [];
  message = sprintf('%s is not valid JSON: %s', file, decode_error.message);
  err = struct('identifier', bad, 'message', message);
  return;
end
kind = 'invalid';
[m, problem] = sb3.internal.check_manifest(m);
if isempty(problem) && any(text == '\') && ~isempty(regexpi(text, '\\u0000', 'once'))
  problem = 'it holds a NUL character (\u0000), which jsondecode would cut names at';
end
if ~isempty(problem)
  m = [];
  message = sprintf('%s breaks the manifest''s rules: %s.', file, problem);
  err = struct('identifier', bad, 'message', message);
  return;
end
kind = 'ok';
end
