function S = map_reload(skel, bytes)
%MAP_RELOAD A newer version's variables, read from its bytes with the last version's map.
%
%   S = sb3.internal.map_reload(SKEL, BYTES) returns the variables of the
%   bundle whose file bytes are BYTES (int8 or uint8), as load would return
%   them, when every byte outside the changing values of SKEL.map
%   (sb3.internal.reload_map) equals the last version's: it is then the same
%   element tree, and S is SKEL.S (the last version's variables) with the
%   changing values read from BYTES. S is [] otherwise (another size, another
%   tree, other numbers or texts): the caller loads the file instead.
%
%   The values come from the very bytes whose sha256 sb3.poll checked against
%   the manifest, so the file cannot change between the check and the read.
%
%   Usage:
%     S = sb3.internal.map_reload(skel, bytes)
%
%   Example:
%     S = sb3.internal.map_reload(old.skeleton, bytes);   % inside sb3.internal.reload_policy
%
%   See also sb3.internal.reload_map, sb3.internal.reload_policy.

S = [];
map = skel.map;
if numel(bytes) ~= map.total
  return;  % another size, or no bytes (a file read in chunks, or not hashed)
end
u = bytes(:);
if ~isa(u, 'uint8')
  u = typecast(u, 'uint8');
end
if ~isequal(u(map.fixed), map.fixed_bytes)
  return;
end
S = skel.S;
kinds = {'single', 'double'};
for i = 1:numel(map.kind)
  raw = u(map.start(i):map.stop(i));
  if map.kind(i) < 3
    value = reshape(typecast(raw, kinds{map.kind(i)}), map.dims{i});
  elseif any(raw > 127)
    S = [];  % not ASCII: load decodes UTF-8, char() would not
    return;
  else
    value = reshape(char(raw), map.dims{i});
  end
  S = subsasgn(S, map.subs{i}, value);
end
end
