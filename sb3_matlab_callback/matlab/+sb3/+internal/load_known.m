function S = load_known(bundle_path, known)
%LOAD_KNOWN Load only the variables named KNOWN from a MAT file, reading it once.
%
%   S = sb3.internal.load_known(BUNDLE_PATH, KNOWN) returns a struct with
%   the variables of the MAT file BUNDLE_PATH whose names are in the cell
%   KNOWN; other variables are never read into memory. MATLAB first lists
%   the file (whos -file) and loads only known variables of the classes a
%   bundle holds, so that no object in the file is constructed (its loadobj
%   never runs). Octave loads the known names in one pass (its load skips
%   names the file lacks). A file that is not a readable MAT file raises
%   sb3:load_policy:corrupt.
%
%   Usage:
%     S = sb3.internal.load_known(bundle_path, known)
%
%   Example:
%     S = sb3.internal.load_known('policy.mat', {'format', 'version'});
%
%   See also sb3.load_policy, sb3.internal.check_classes.

S = struct();
try
  if exist('OCTAVE_VERSION', 'builtin') ~= 0
    try
      S = load(bundle_path, '-mat', known{:});
    catch err
      % Octave's load returns nothing when no name matches: then the file must list fine.
      listed = whos('-file', bundle_path);
      if any(ismember(known, {listed.name}))
        rethrow(err);
      end
    end
  else
    listed = whos('-file', bundle_path);
    plain = {'double', 'single', 'logical', 'char', 'struct', 'cell', 'int8', 'uint8', ...
             'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64'};
    names = {listed(ismember({listed.name}, known) & ismember({listed.class}, plain)).name};
    if ~isempty(names)
      S = load(bundle_path, '-mat', names{:});
    end
  end
catch err
  error('sb3:load_policy:corrupt', 'Cannot read bundle %s (corrupt or not a MAT file): %s', ...
        bundle_path, err.message);
end
end
