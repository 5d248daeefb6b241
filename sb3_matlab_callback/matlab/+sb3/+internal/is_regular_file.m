function tf = is_regular_file(path)
%IS_REGULAR_FILE True for an existing regular file (not a folder, FIFO, socket or device).
%
%   TF = sb3.internal.is_regular_file(PATH) is true when PATH names a regular
%   file. Opening a FIFO would block forever, so sb3.latest, sb3.poll and
%   sb3.load_policy open nothing else. Relative paths are taken from the
%   current folder, never searched on the MATLAB path. Octave asks stat;
%   MATLAB asks java.io.File when the JVM runs, and isfile otherwise.
%
%   Usage:
%     tf = sb3.internal.is_regular_file(path)
%
%   Example:
%     tf = sb3.internal.is_regular_file('exports/run1/manifest.json');
%
%   See also sb3.internal.read_manifest, sb3.internal.check_file.

tf = false;
if exist('OCTAVE_VERSION', 'builtin') ~= 0
  % stat alone (isfile, an m-file in Octave, would cost as much again).
  [info, err] = stat(path);
  tf = err == 0 && S_ISREG(info.mode);
  return;
end
if ~isfile(path)
  return;
end
if usejava('jvm')
  file = java.io.File(path);
  if ~file.isAbsolute()
    file = java.io.File(fullfile(pwd, path));
  end
  tf = file.isFile();
else
  tf = true;
end
end
