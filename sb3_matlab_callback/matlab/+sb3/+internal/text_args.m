function args = text_args(args)
%TEXT_ARGS Turn every MATLAB string scalar in a cell of arguments into a char row vector.
%
%   ARGS = sb3.internal.text_args(ARGS) returns the cell ARGS with each
%   element that is a string scalar (MATLAB's "text" class) replaced by the
%   equivalent char row vector; other elements are returned unchanged. Every
%   public sb3 function passes its arguments through here first, so it accepts
%   'policy.mat' and "policy.mat" alike. GNU Octave has no string class:
%   there, nothing changes.
%
%   Usage:
%     args = sb3.internal.text_args(args)
%
%   Example:
%     args = sb3.internal.text_args({'Precision', 'double'});
%
%   See also sb3.load_policy, sb3.predict, sb3.latest, sb3.poll.

for k = 1:numel(args)
  if isa(args{k}, 'string') && isscalar(args{k})
    args{k} = char(args{k});
  end
end
end
