function x = take_row(obs, t)
%TAKE_ROW Observation T of a batch stacked along the first dimension, as a batch of one.
%
%   X = sb3.internal.take_row(OBS, T) returns OBS(T, :, ..., :) keeping every
%   dimension; for a struct (Dict observation), each field's row T.
%
%   Example:
%     x = sb3.internal.take_row(magic(4), 2)   % 1-by-4
%
%   See also sb3.internal.replay_reference.

if isstruct(obs)
  x = struct();
  names = fieldnames(obs);
  for k = 1:numel(names)
    x.(names{k}) = sb3.internal.take_row(obs.(names{k}), t);
  end
  return;
end
idx = repmat({':'}, 1, ndims(obs));
idx{1} = t;
x = obs(idx{:});
end
