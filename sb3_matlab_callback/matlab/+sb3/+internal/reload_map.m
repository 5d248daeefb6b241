function map = reload_map(S, bytes)
%RELOAD_MAP Where a bundle's changing values lie in its file, for the next reload.
%
%   MAP = sb3.internal.reload_map(S, BYTES) takes a bundle's variables S, as
%   load returned them, and the bytes of the same file (int8 or uint8), and
%   returns what sb3.internal.reload_policy needs to read a newer version of
%   the same program straight from its bytes, without load: the position,
%   class and size of each leaf that may change between versions
%   (sb3.internal.free_leaves), its place in S (for subsasgn), and every
%   other byte of the file (MAP.fixed, MAP.fixed_bytes), which a newer
%   version must repeat exactly. Equal bytes there mean the same element
%   tree: the same variables, fields, classes, sizes, texts and numbers, with
%   only the listed values new.
%
%   MAP is [] when the file is not one this reader takes (sb3.internal.mat5_walk),
%   when a changing leaf is stored in another type than its class (single as
%   single, double as double, text as UTF-8 ASCII) or when any changing
%   leaf read back from BYTES by sb3.internal.map_reload differs from S's: the
%   reload then goes through load.
%   The first 116 bytes (the MAT header's text, with its creation time) are
%   neither checked nor read.
%
%   Usage:
%     map = sb3.internal.reload_map(S, bytes)
%
%   Example:
%     fid = fopen('policy.mat', 'r'); bytes = fread(fid, Inf, '*int8'); fclose(fid);
%     map = sb3.internal.reload_map(load('policy.mat', '-mat'), bytes);
%
%   See also sb3.internal.reload_policy, sb3.internal.mat5_walk, sb3.internal.free_leaves.

map = [];
if isempty(bytes) || ~isfield(S, 'ops') || ~iscell(S.ops)
  return;
end
walk = sb3.internal.mat5_walk(bytes, {'ops', 'inputs', 'reference'});
if isempty(walk) || isempty(walk.class)
  return;
end
float = walk.class == 6 | walk.class == 7;
text = walk.class == 4;
free = sb3.internal.free_leaves(walk.where, walk.field, walk.op, float, text, S.ops);
% Each changing leaf in its own type: single (7) as miSINGLE (7), double (6) as miDOUBLE (9),
% text as miUTF8 (16) holding ASCII.
kind = zeros(size(free));
kind(free & walk.class == 7 & walk.dtype == 7) = 1;
kind(free & walk.class == 6 & walk.dtype == 9) = 2;
kind(free & text & walk.dtype == 16) = 3;
if any(free & kind == 0)
  return;
end
u = bytes(:);
if ~isa(u, 'uint8')
  u = typecast(u, 'uint8');
end
j = find(free);
map = struct('total', numel(u), 'kind', kind(j), 'start', walk.start(j), ...
             'stop', walk.start(j) + walk.nbytes(j) - 1);
map.dims = walk.dims(j);
map.subs = walk.subs(j);
% Every other byte must repeat, then the map must read this very file back as load did:
% the same values, in the classes load gave them (sb3.internal.map_reload is the reader).
fixed = true(numel(u), 1);
fixed(1:116) = false;
classes = {'single', 'double', 'char'};
try
  for i = 1:numel(j)
    if ~isa(subsref(S, map.subs{i}), classes{map.kind(i)})
      map = [];
      return;
    end
    fixed(map.start(i):map.stop(i)) = false;
  end
catch
  map = [];  % a place S does not have: this file is not the one S came from
  return;
end
map.fixed = uint32(find(fixed));
map.fixed_bytes = u(map.fixed);
if ~isequal(sb3.internal.map_reload(struct('map', map, 'S', S), u), S)
  map = [];
end
end
