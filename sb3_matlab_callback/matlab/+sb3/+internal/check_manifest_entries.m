function [ok, versions, files] = check_manifest_entries(c)
%CHECK_MANIFEST_ENTRIES Check all checkpoint entries of a manifest at once (the common case).
%
%   [OK, VERSIONS, FILES] = sb3.internal.check_manifest_entries(C) checks
%   the struct array C (jsondecode's output for a list of objects with the
%   same keys) by the rules of sb3.internal.check_manifest_entry, one
%   vectorized pass per key instead of one call per entry. OK is true, with
%   every entry's VERSION and FILE, when every entry keeps every rule; it
%   is false when any entry may break one (or C is not of the common form:
%   numbers as double): the caller then checks entry by entry, which names
%   the first entry at fault.
%
%   Usage:
%     [ok, versions, files] = sb3.internal.check_manifest_entries(c)
%
%   Example:
%     m = jsondecode(fileread('exports/run1/manifest.json'));
%     ok = sb3.internal.check_manifest_entries(m.checkpoints);
%
%   See also sb3.internal.check_manifest, sb3.internal.check_manifest_entry.

ok = false;
versions = [];
files = {};
keys = {'version', 'file', 'num_timesteps', 'sha256', 'bytes', 'created'};
if ~isstruct(c) || isempty(c) || ~all(isfield(c, keys))
  return;
end
n = numel(c);
numbers = [{c.version}, {c.num_timesteps}, {c.bytes}];
if ~all(cellfun('isclass', numbers, 'double')) || ~all(cellfun('prodofsize', numbers) == 1) || ...
   ~all(cellfun('isreal', numbers))
  return;
end
x = [numbers{:}];
lowest = [ones(1, n), zeros(1, 2 * n)];
if ~all(x >= lowest & x <= flintmax & x == fix(x))
  return;
end
% Text: file a bare name, sha256 64 lowercase hex digits, created and run_id rows (files
% and sha256 of one row each: a file name is not empty).
files = {c.file};
sha = {c.sha256};
text = [files, sha, {c.created}];
if isfield(c, 'run_id')
  text = [text, {c.run_id}];
end
rows = cellfun('size', text, 1);
if ~all(cellfun('isclass', text, 'char') & rows <= 1 & cellfun('ndims', text) == 2) || ...
   ~all(rows(1:2 * n) == 1) || ~all(cellfun('prodofsize', sha) == 64) || ...
   ~all(cellfun('prodofsize', files) > 0)
  return;
end
name_chars = [files{:}];
hex = [sha{:}];
if any(name_chars == '/' | name_chars == '\' | name_chars == ':' | name_chars == char(0)) || ...
   any(strcmp(files, '.')) || any(strcmp(files, '..')) || ...
   ~all((hex >= '0' & hex <= '9') | (hex >= 'a' & hex <= 'f'))
  return;
end
versions = x(1:n);
ok = true;
end
