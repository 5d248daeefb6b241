function [paths, names] = export_folders(root, max_depth)
%EXPORT_FOLDERS Folders with a manifest.json under root, up to max_depth levels down.
%
%   [PATHS, NAMES] = sb3.internal.export_folders(ROOT, MAX_DEPTH) returns two
%   1-by-N cell arrays sorted by name: each export folder's full path and its
%   path under ROOT with '/' separators. When ROOT itself holds a
%   manifest.json, it is the only one, named after ROOT's last component.
%   Export folders are not searched further; nor are folders that hold the
%   +sb3 runtime, or whose names start with '.', '+' or '@'.
%
%   Usage:
%     [paths, names] = sb3.internal.export_folders(root, 3)
%
%   Example:
%     [paths, names] = sb3.internal.export_folders('exports/experiment', 3);
%
%   See also sb3.runs.

paths = {};
names = {};
if isfile(fullfile(root, 'manifest.json'))
  trimmed = root;
  while numel(trimmed) > 1 && any(trimmed(end) == '/\')
    trimmed = trimmed(1:end - 1);
  end
  [unused, base, ext] = fileparts(trimmed); %#ok<ASGLU>
  paths = {root};
  names = {[base ext]};
  return
end
level = {''};
for depth = 1:max_depth
  below = {};
  for i = 1:numel(level)
    listing = dir(fullfile(root, level{i}));
    for k = 1:numel(listing)
      entry = listing(k).name;
      if ~listing(k).isdir || isempty(entry) || any(entry(1) == '.+@')
        continue
      end
      if isempty(level{i})
        name = entry;
      else
        name = [level{i} '/' entry];
      end
      folder = fullfile(root, name);
      if isfolder(fullfile(folder, '+sb3'))
        continue
      end
      if isfile(fullfile(folder, 'manifest.json'))
        paths{end + 1} = folder; %#ok<AGROW>
        names{end + 1} = name; %#ok<AGROW>
      elseif depth < max_depth
        below{end + 1} = name; %#ok<AGROW>
      end
    end
  end
  level = below;
end
[names, order] = sort(names);
paths = paths(order);
end
