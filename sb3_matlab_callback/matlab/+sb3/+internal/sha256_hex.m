function hex = sha256_hex(data)
%SHA256_HEX The sha256 of a uint8 vector as lowercase hex ('' where unavailable).
%
%   HEX = sb3.internal.sha256_hex(DATA) hashes the bytes DATA with Octave's
%   hash function, or in MATLAB with java.security.MessageDigest when the JVM
%   runs. Without either (MATLAB -nojvm) it returns '' and callers skip the
%   check.
%
%   Usage:
%     hex = sb3.internal.sha256_hex(data)
%
%   Example:
%     fid = fopen('policy_v000001.mat', 'r');
%     hex = sb3.internal.sha256_hex(fread(fid, Inf, '*uint8'));
%     fclose(fid);
%
%   See also sb3.internal.sha256_file, sb3.internal.check_file.

data = uint8(data(:));
if exist('OCTAVE_VERSION', 'builtin') ~= 0
  hex = lower(hash('sha256', char(data.')));
elseif usejava('jvm')
  md = java.security.MessageDigest.getInstance('SHA-256');
  md.update(typecast(data, 'int8'));
  hex = sprintf('%02x', typecast(md.digest(), 'uint8'));
else
  hex = '';
end
end
