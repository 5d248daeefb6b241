function check_obs(x, in)
%CHECK_OBS Raise a clear error for an observation of the wrong type or holding NaN/Inf.
%
%   sb3.internal.check_obs(X, IN) accepts a real, full (non-sparse) numeric
%   or logical array X for the input spec IN. Text (char or string), complex,
%   sparse, cell, struct and other classes raise sb3:predict:badObsType,
%   naming the class; NaN or Inf raise sb3:predict:badObsValue: no action is
%   computed for a sensor that failed. IN.key names the Dict key, if any.
%
%   Usage:
%     sb3.internal.check_obs(x, in)
%
%   Example:
%     sb3.internal.check_obs([0.1 0.2 0.3], struct('key', ''))   % passes
%
%   See also sb3.predict, sb3.internal.prepare_inputs.

if isempty(in.key)
  name = 'The observation';
else
  name = sprintf('Observation key ''%s''', in.key);
end
if ~((isnumeric(x) || islogical(x)) && isreal(x) && ~issparse(x))
  kind = class(x);
  if issparse(x)
    kind = ['sparse ' kind];
  elseif isnumeric(x) && ~isreal(x)
    kind = ['complex ' kind];
  end
  error('sb3:predict:badObsType', ...
        ['%s is of class %s; expected a real numeric or logical array ' ...
         '(not text, complex, sparse, cell or struct).'], name, kind);
end
if isfloat(x) && ~all(isfinite(x(:)))
  error('sb3:predict:badObsValue', ...
        '%s holds NaN or Inf (element %d); SB3 policies need finite observations.', ...
        name, find(~isfinite(x(:)), 1));
end
end
