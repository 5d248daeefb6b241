function hex = sha256_file(path)
%SHA256_FILE The sha256 of a file as lowercase hex ('' where hashing is unavailable).
%
%   HEX = sb3.internal.sha256_file(PATH) hashes the file PATH. Octave hashes
%   its bytes with hash() in one call; MATLAB feeds
%   java.security.MessageDigest in 16 MB chunks, so a large bundle is never
%   held twice in memory. Without either
%   (MATLAB started with -nojvm) it returns '' and warns once per session
%   (sb3:sha256:unavailable): callers then check the size only.
%
%   Usage:
%     hex = sb3.internal.sha256_file(path)
%
%   Example:
%     hex = sb3.internal.sha256_file('exports/run1/policy_v000001.mat');
%
%   See also sb3.internal.sha256_hex, sb3.internal.check_file.

persistent warned
hex = '';
octave = exist('OCTAVE_VERSION', 'builtin') ~= 0;
if ~octave && ~usejava('jvm')
  if isempty(warned)
    warned = true;
    warning('sb3:sha256:unavailable', ...
            ['No Java: bundles are checked by size only, not sha256 (MATLAB -nojvm). ' ...
             'This warning is shown once.']);
  end
  return;
end
fid = fopen(path, 'r');
if fid < 0
  return;
end
if octave
  % Octave's char is one byte: '*char' reads the bytes unchanged, and hash takes them as is.
  data = fread(fid, Inf, '*char').';
  fclose(fid);
  hex = lower(hash('sha256', data));
  return;
end
md = java.security.MessageDigest.getInstance('SHA-256');
while true
  chunk = fread(fid, 16 * 2^20, '*uint8');
  if isempty(chunk)
    break;
  end
  md.update(typecast(chunk, 'int8'));
end
fclose(fid);
hex = sprintf('%02x', typecast(md.digest(), 'uint8'));
end
