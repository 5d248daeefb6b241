function value = map_value(u, map, i)
%MAP_VALUE Read changing leaf I of a reload map from a bundle's bytes.
%
%   VALUE = sb3.internal.map_value(U, MAP, I) decodes leaf I of MAP
%   (sb3.internal.reload_map) from the file bytes U (uint8): single, double
%   or ASCII text, in the leaf's size, as load would return it.
%
%   Usage:
%     value = sb3.internal.map_value(u, map, i)
%
%   Example:
%     w = sb3.internal.map_value(u, map, 3);   % inside sb3.internal.reload_policy
%
%   See also sb3.internal.reload_map, sb3.internal.reload_policy.

raw = u(map.start(i):map.stop(i));
switch map.kind(i)
  case 1
    value = reshape(typecast(raw, 'single'), map.dims{i});
  case 2
    value = reshape(typecast(raw, 'double'), map.dims{i});
  otherwise
    value = reshape(char(raw), map.dims{i});
end
end
