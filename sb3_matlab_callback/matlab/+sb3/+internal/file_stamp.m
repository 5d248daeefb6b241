function [bytes, mtime, clock_now] = file_stamp(file)
%FILE_STAMP Size and modification time of a file, and the current time, in seconds.
%
%   [BYTES, MTIME, CLOCK_NOW] = sb3.internal.file_stamp(FILE) returns the size
%   of FILE in bytes (-1 when it does not exist), its modification time and
%   the current time, both in seconds on the same clock. Octave asks stat
%   (a few microseconds); MATLAB asks dir, whose datenum shares the clock of
%   now. Timestamps may be as coarse as 1 s (2 s on FAT): sb3.poll trusts an
%   unchanged stamp only for a file last modified more than 2 s before.
%
%   Usage:
%     [bytes, mtime, clock_now] = sb3.internal.file_stamp(file)
%
%   Example:
%     [bytes, mtime, t] = sb3.internal.file_stamp('exports/run1/manifest.json');
%
%   See also sb3.poll.

persistent octave
if isempty(octave)
  octave = exist('OCTAVE_VERSION', 'builtin') ~= 0;
end
bytes = -1;
mtime = NaN;
if octave
  clock_now = time();
  [info, err] = stat(file);
  if err == 0
    bytes = info.size;
    mtime = info.mtime;
  end
  return;
end
clock_now = now * 86400;
info = dir(file);
if numel(info) == 1 && ~info.isdir
  bytes = info.bytes;
  mtime = info.datenum * 86400;
end
end
