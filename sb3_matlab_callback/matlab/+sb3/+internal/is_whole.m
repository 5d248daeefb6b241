function tf = is_whole(v, lowest)
%IS_WHOLE True for a real whole number of at least LOWEST that a double holds exactly.
%
%   TF = sb3.internal.is_whole(V, LOWEST) is true when V is a real numeric
%   scalar, a whole number, LOWEST <= V <= flintmax (2^53). JSON may hold
%   1e400 (Inf after jsondecode), 1.5 or -3: all false.
%
%   Usage:
%     tf = sb3.internal.is_whole(v, lowest)
%
%   Example:
%     sb3.internal.is_whole(3, 1)     % true
%     sb3.internal.is_whole(0.5, 0)   % false
%
%   See also sb3.internal.check_manifest.

tf = isnumeric(v) && isscalar(v) && isreal(v) && v >= lowest && v <= flintmax && v == fix(v);
end
