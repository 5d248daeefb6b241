function data = check_file(path, entry, caller)
%CHECK_FILE Check that a listed bundle is present, a regular file and complete.
%
%   sb3.internal.check_file(PATH, ENTRY, CALLER) compares the size of the
%   file PATH with ENTRY.bytes and its sha256 with ENTRY.sha256 (where the
%   platform can hash: Octave's hash, or Java in MATLAB). It raises
%   sb3:CALLER:missingFile when the file is gone (retention may have removed
%   it) or is not a regular file (a FIFO would block a reader forever), and
%   sb3:CALLER:badFile when it differs from the manifest.
%
%   DATA = sb3.internal.check_file(...) also returns the bytes that were
%   hashed (sb3.internal.sha256_file; [] where not kept).
%
%   Usage:
%     sb3.internal.check_file(path, entry, 'poll')
%     data = sb3.internal.check_file(path, entry, 'poll')
%
%   Example:
%     m = sb3.internal.read_manifest('exports/run1', 'latest');
%     e = m.checkpoints{end};
%     sb3.internal.check_file(fullfile('exports/run1', e.file), e, 'latest');
%
%   See also sb3.internal.sha256_file, sb3.latest, sb3.poll.

if ~sb3.internal.is_regular_file(path)
  error(['sb3:' caller ':missingFile'], 'Listed bundle %s is missing or not a regular file.', path);
end
bytes = sb3.internal.file_stamp(path);
if bytes ~= entry.bytes
  error(['sb3:' caller ':badFile'], 'Bundle %s has %d bytes; the manifest says %d.', ...
        path, bytes, entry.bytes);
end
[digest, data] = sb3.internal.sha256_file(path);
if ~isempty(digest) && ~strcmpi(digest, entry.sha256)
  error(['sb3:' caller ':badFile'], 'The sha256 of bundle %s differs from the manifest''s.', path);
end
end
