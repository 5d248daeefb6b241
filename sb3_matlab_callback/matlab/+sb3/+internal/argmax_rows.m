function idx = argmax_rows(x)
%ARGMAX_ROWS Zero-based index of each row's maximum (first one on ties, like torch).
%
%   IDX = sb3.internal.argmax_rows(X) returns an N-by-1 double. A row that
%   holds NaN gives NaN: torch's argmax would return the first NaN's index,
%   an action chosen by no score, so the runtime refuses to turn NaN into an
%   action index.
%
%   Example:
%     sb3.internal.argmax_rows([1 3 2; 5 0 5])   % returns [1; 0]
%
%   See also sb3.predict.

[~, idx] = max(x, [], 2);
idx = double(idx) - 1;
bad = any(isnan(x), 2);
if any(bad)
  idx(bad) = NaN;
end
end
