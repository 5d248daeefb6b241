function [version, file, problem] = check_manifest_entry(c, k)
%CHECK_MANIFEST_ENTRY Check checkpoint entry number K of a decoded manifest.
%
%   [VERSION, FILE, PROBLEM] = sb3.internal.check_manifest_entry(C, K)
%   returns PROBLEM = '' with the entry's VERSION and FILE when C has every
%   key with the right type (a positive integer version, a bare file name,
%   integer num_timesteps and bytes, a 64-digit lowercase hex sha256, text
%   created and run_id); otherwise PROBLEM names entry K and the rule.
%
%   Usage:
%     [version, file, problem] = sb3.internal.check_manifest_entry(c, k)
%
%   Example:
%     [v, f, p] = sb3.internal.check_manifest_entry(struct('version', 1), 1);
%
%   See also sb3.internal.check_manifest, sb3.internal.is_bare_name.

version = 0;
file = '';
problem = '';
keys = {'version', 'file', 'num_timesteps', 'sha256', 'bytes', 'created'};
if ~isstruct(c) || ~isscalar(c) || ~all(isfield(c, keys))
  problem = sprintf('checkpoint #%d must be an object with %s', k, strjoin(keys, ', '));
elseif ~sb3.internal.is_whole(c.version, 1)
  problem = sprintf('checkpoint #%d: version must be a positive integer', k);
elseif ~sb3.internal.is_bare_name(c.file)
  problem = sprintf(['checkpoint #%d: file must be a bare file name in save_path ' ...
                     '(no folder, drive or ''..'')'], k);
elseif ~sb3.internal.is_whole(c.num_timesteps, 0) || ~sb3.internal.is_whole(c.bytes, 0)
  problem = sprintf('checkpoint #%d: num_timesteps and bytes must be non-negative integers', k);
elseif ~(ischar(c.sha256) && size(c.sha256, 1) <= 1) || numel(c.sha256) ~= 64 || ...
       ~all((c.sha256 >= '0' & c.sha256 <= '9') | (c.sha256 >= 'a' & c.sha256 <= 'f'))
  problem = sprintf('checkpoint #%d: sha256 must be 64 lowercase hex digits', k);
elseif ~(ischar(c.created) && size(c.created, 1) <= 1) || ...
       (isfield(c, 'run_id') && ~(ischar(c.run_id) && size(c.run_id, 1) <= 1))
  problem = sprintf('checkpoint #%d: created and run_id must be strings', k);
else
  version = c.version;
  file = c.file;
end
end
