function m = read_manifest(save_path, caller)
%READ_MANIFEST Read, decode and check save_path/manifest.json once.
%
%   M = sb3.internal.read_manifest(SAVE_PATH, CALLER) returns the decoded
%   manifest with M.checkpoints as a 1-by-N cell array of structs. CALLER
%   ('latest' or 'poll') names the error IDs: sb3:CALLER:noManifest when the
%   file does not exist, sb3:CALLER:badManifest when it cannot be read, is not
%   JSON or breaks one of the manifest's rules. It does not retry: callers do.
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
if exist(file, 'file') ~= 2
  error(['sb3:' caller ':noManifest'], ...
        'No manifest in %s (no checkpoint committed yet?): %s not found.', save_path, file);
end
fid = fopen(file, 'r');
if fid < 0
  error(['sb3:' caller ':badManifest'], 'Cannot open %s.', file);
end
text = fread(fid, Inf, '*char').';
fclose(fid);
try
  m = jsondecode(text);
catch err
  error(['sb3:' caller ':badManifest'], '%s is not valid JSON: %s', file, err.message);
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
versions = cellfun(@(c) c.version, m.checkpoints);
if any(diff(versions) <= 0) || ~isequal(m.latest, versions(end))
  error(['sb3:' caller ':badManifest'], ...
        '%s breaks its rules: versions must ascend and latest must be the highest.', file);
end
end
