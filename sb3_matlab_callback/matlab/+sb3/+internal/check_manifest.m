function [m, problem] = check_manifest(m)
%CHECK_MANIFEST Check a decoded manifest.json against the manifest's rules.
%
%   [M, PROBLEM] = sb3.internal.check_manifest(M) returns PROBLEM = '' and M
%   with M.checkpoints as a 1-by-N cell array of structs when M, the output
%   of jsondecode, keeps every rule of the manifest; otherwise PROBLEM says
%   which rule it breaks. The rules are the Python package's
%   (validate_manifest), in the same order; see sb3.internal.read_manifest.
%
%   Usage:
%     [m, problem] = sb3.internal.check_manifest(jsondecode(text))
%
%   Example:
%     [m, problem] = sb3.internal.check_manifest(struct('format', 'x'));
%
%   See also sb3.internal.read_manifest, sb3.internal.check_manifest_entry.

problem = '';
if ~isstruct(m) || ~isscalar(m)
  problem = 'its top level must be a JSON object';
elseif ~isfield(m, 'format') || ~strcmp(m.format, 'sb3-matlab-manifest')
  problem = 'format must be ''sb3-matlab-manifest''';
elseif ~isfield(m, 'format_version') || ~isnumeric(m.format_version) || ...
       ~isscalar(m.format_version) || m.format_version ~= 1
  problem = 'format_version must be 1 (this runtime reads version 1)';
elseif ~isfield(m, 'algorithm') || ~ischar(m.algorithm) || isempty(m.algorithm) || ...
       size(m.algorithm, 1) ~= 1
  problem = 'algorithm must be a non-empty string';
elseif ~isfield(m, 'checkpoints') || isempty(m.checkpoints) || ...
       ~(isstruct(m.checkpoints) || iscell(m.checkpoints)) || ~isvector(m.checkpoints)
  problem = 'checkpoints must be a non-empty list';
end
if ~isempty(problem)
  return;
end
% The common case (every entry with the same keys) in one pass; else, or when an entry
% may break a rule, entry by entry, which names the first at fault.
[ok, versions, files] = sb3.internal.check_manifest_entries(m.checkpoints);
if isstruct(m.checkpoints)
  m.checkpoints = num2cell(m.checkpoints(:).');
else
  m.checkpoints = m.checkpoints(:).';
end
n = numel(m.checkpoints);
if ~ok
  versions = zeros(1, n);
  files = cell(1, n);
  for k = 1:n
    [versions(k), files{k}, problem] = sb3.internal.check_manifest_entry(m.checkpoints{k}, k);
    if ~isempty(problem)
      return;
    end
  end
end
sorted = sort(files);
if any(diff(versions) <= 0)
  problem = sprintf('checkpoints must be in ascending version order (versions %s)', ...
                    mat2str(versions(1:min(n, 20))));
elseif n > 1 && any(strcmp(sorted(1:end - 1), sorted(2:end)))
  problem = 'two checkpoints list the same file';
elseif ~isfield(m, 'latest') || ~sb3.internal.is_whole(m.latest, 1) || m.latest ~= versions(end)
  problem = sprintf('latest must be the highest listed version (%d)', versions(end));
elseif isfield(m, 'next_version') && ...
       ~(sb3.internal.is_whole(m.next_version, 1) && m.next_version > versions(end))
  problem = 'next_version must be an integer above latest';
elseif isfield(m, 'run_id') && ~(ischar(m.run_id) && size(m.run_id, 1) <= 1)
  problem = 'run_id must be a string';
end
end
