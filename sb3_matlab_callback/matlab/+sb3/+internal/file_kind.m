function kind = file_kind(path)
%FILE_KIND Say whether a path is a regular file, missing, or something else.
%   KIND = sb3.internal.file_kind(PATH) returns 'regular' for a regular file,
%   'missing' when nothing is at PATH (at this instant: a replace may be
%   under way), and 'other' for a folder, FIFO, device or anything else that
%   exists. Only 'other' is a permanent verdict: a manifest replaced by an
%   atomic rename is always a regular file when it is there at all.
%
%   Usage:
%     kind = sb3.internal.file_kind(path)
%
%   Example:
%     if strcmp(sb3.internal.file_kind('exports/run1/manifest.json'), 'regular')
%       disp('a manifest is there');
%     end
%
%   See also sb3.internal.is_regular_file, sb3.internal.read_manifest.

if exist('OCTAVE_VERSION', 'builtin') ~= 0
  [info, err] = stat(path);
  if err ~= 0
    kind = 'missing';
  elseif S_ISREG(info.mode)
    kind = 'regular';
  else
    kind = 'other';
  end
  return;
end
if sb3.internal.is_regular_file(path)
  kind = 'regular';
elseif isfolder(path) || ~isempty(dir(path))
  kind = 'other';
else
  kind = 'missing';
end
end
