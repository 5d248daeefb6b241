function [hex, data] = sha256_file(path)
%SHA256_FILE The sha256 of a file as lowercase hex ('' where hashing is unavailable).
%
%   HEX = sb3.internal.sha256_file(PATH) hashes the file PATH.
%   java.security.MessageDigest does the work where a JVM runs: MATLAB feeds
%   it in 16 MB chunks, so a large bundle is never held twice in memory.
%   Octave hashes a file of 128 KiB or more the same way when it has Java
%   (2.3 times as fast as its own hash() on a SAC 256x256 bundle, which is
%   what lets sb3.poll reload within its budget; starting Octave's JVM costs
%   about 40 ms once per session), and anything smaller, or everything
%   without Java, with hash() in one call. Without either (MATLAB started
%   with -nojvm) it returns '' and warns once per session
%   (sb3:sha256:unavailable): callers then check the size only.
%
%   [HEX, DATA] = sb3.internal.sha256_file(PATH) also returns the bytes it
%   hashed (an int8 column; [] where they were not kept: a file read in more
%   than one chunk, or no hashing), for a reader that must use exactly the
%   bytes it checked.
%
%   Usage:
%     hex = sb3.internal.sha256_file(path)
%     [hex, data] = sb3.internal.sha256_file(path)
%
%   Example:
%     hex = sb3.internal.sha256_file('exports/run1/policy_v000001.mat');
%
%   See also sb3.internal.sha256_hex, sb3.internal.check_file.

persistent warned octave_java
hex = '';
data = [];
octave = exist('OCTAVE_VERSION', 'builtin') ~= 0;
if octave && isempty(octave_java)
  octave_java = usejava('jvm');
end
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
  data = fread(fid, Inf, '*int8');
  fclose(fid);
  if octave_java && numel(data) >= 131072
    try
      md = javaMethod('getInstance', 'java.security.MessageDigest', 'SHA-256');
      md.update(data);
      hex = sprintf('%02x', typecast(md.digest(), 'uint8'));
      return;
    catch
      octave_java = false;  % no working JVM after all: hash() from now on
    end
  end
  hex = lower(hash('sha256', char(typecast(data, 'uint8').')));
  return;
end
md = java.security.MessageDigest.getInstance('SHA-256');
chunks = 0;
while true
  chunk = fread(fid, 16 * 2^20, '*int8');
  if isempty(chunk)
    break;
  end
  md.update(chunk);
  chunks = chunks + 1;
  data = [];
  if chunks == 1
    data = chunk;
  end
end
fclose(fid);
hex = sprintf('%02x', typecast(md.digest(), 'uint8'));
end
