function m = read_manifest(save_path, caller)
%READ_MANIFEST Read, decode and check save_path/manifest.json once.
%
%   M = sb3.internal.read_manifest(SAVE_PATH, CALLER) returns the decoded
%   manifest with M.checkpoints as a 1-by-N cell array of structs. CALLER
%   ('latest' or 'poll') names the error IDs: sb3:CALLER:noManifest when the
%   file does not exist, sb3:CALLER:badManifest when it cannot be read, is not
%   JSON or breaks one of the manifest's rules. Only a regular file of at most
%   16 MiB, nested at most 16 levels deep, reaches jsondecode. The optional
%   run_id (top level and per entry) is kept. It does not retry: callers do.
%
%   Usage:
%     m = sb3.internal.read_manifest(save_path, 'latest')
%
%   Example:
%     m = sb3.internal.read_manifest('exports/run1', 'latest');
%     fprintf('latest version %d\n', m.latest);
%
%   See also sb3.latest, sb3.poll.

file = fullfile(save_path, 'manifest.json');
bad = ['sb3:' caller ':badManifest'];
if ~sb3.internal.is_regular_file(file)
  if isempty(dir(file))
    error(['sb3:' caller ':noManifest'], ...
          'No manifest in %s (no checkpoint committed yet?): %s not found.', save_path, file);
  end
  error(bad, '%s is not a regular file.', file);
end
% Bound what jsondecode sees: deep nesting crashes some decoders (Octave segfaults).
info = dir(file);
if numel(info) ~= 1 || info.bytes > 16 * 2^20
  error(bad, '%s is larger than 16 MiB: not a manifest.', file);
end
fid = fopen(file, 'r');
if fid < 0
  error(bad, 'Cannot open %s.', file);
end
text = fread(fid, Inf, '*char').';
fclose(fid);
% Nesting depth outside strings: strings removed, then a running count of brackets.
bare = regexprep(text, '"(?:[^"\\]|\\.)*"', '""');
depth = cumsum((bare == '[' | bare == '{') - (bare == ']' | bare == '}'));
if ~isempty(depth) && max(depth) > 16
  error(bad, '%s nests JSON %d levels deep; a manifest has at most 16.', file, max(depth));
end
try
  m = jsondecode(text);
catch err
  error(bad, '%s is not valid JSON: %s', file, err.message);
end
if ~isstruct(m) || ~isfield(m, 'format') || ~strcmp(m.format, 'sb3-matlab-manifest')
  error(['sb3:' caller ':badManifest'], '%s is not an sb3-matlab manifest.', file);
end
if ~isfield(m, 'format_version') || ~isequal(m.format_version, 1)
  error(['sb3:' caller ':badManifest'], ...
        '%s has an unknown format_version; this runtime reads version 1.', file);
end
if ~isfield(m, 'checkpoints') || isempty(m.checkpoints) || ~isfield(m, 'latest')
  error(['sb3:' caller ':badManifest'], '%s lists no checkpoint.', file);
end
if isstruct(m.checkpoints)
  m.checkpoints = num2cell(m.checkpoints(:).');
end
for k = 1:numel(m.checkpoints)
  c = m.checkpoints{k};
  if ~isstruct(c) || ~all(isfield(c, {'version', 'file', 'bytes', 'sha256'})) || ...
     ~isnumeric(c.version) || ~isscalar(c.version) || ~ischar(c.file) || ...
     any(c.file == '/' | c.file == '\') || any(strcmp(c.file, {'', '.', '..'}))
    error(bad, '%s lists a malformed checkpoint entry (%d).', file, k);
  end
end
versions = cellfun(@(c) c.version, m.checkpoints);
if any(diff(versions) <= 0) || ~isequal(m.latest, versions(end))
  error(['sb3:' caller ':badManifest'], ...
        '%s breaks its rules: versions must ascend and latest must be the highest.', file);
end
end
