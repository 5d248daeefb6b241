function bad_obs_size(in, sz, expected)
%BAD_OBS_SIZE Raise sb3:predict:badObsSize naming the observation, its size and the expectation.
%
%   sb3.internal.bad_obs_size(IN, SZ, EXPECTED) raises the error for input
%   spec IN (its key, if any, is named), the actual size SZ and the text
%   EXPECTED describing the accepted sizes.
%
%   Example:
%     sb3.internal.bad_obs_size(struct('key', ''), [1 4], 'a vector of 3 elements')
%
%   See also sb3.internal.flatten_obs, sb3.internal.image_obs.

if isempty(in.key)
  what = 'Observation';
else
  what = sprintf('Observation key ''%s''', in.key);
end
error('sb3:predict:badObsSize', '%s has size %s; expected %s.', what, mat2str(sz), expected);
end
