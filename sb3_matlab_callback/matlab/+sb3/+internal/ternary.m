function out = ternary(condition, a, b)
%TERNARY A if CONDITION is true, else B.
%
%   OUT = sb3.internal.ternary(CONDITION, A, B)
%
%   Example:
%     sb3.internal.ternary(true, 'yes', 'no')   % returns 'yes'
%
%   See also sb3.value.

if condition
  out = a;
else
  out = b;
end
end
