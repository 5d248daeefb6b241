function idx = argmax_rows(x)
%ARGMAX_ROWS Zero-based index of each row's maximum (first one on ties, like torch).
%
%   IDX = sb3.internal.argmax_rows(X) returns an N-by-1 double.
%
%   Example:
%     sb3.internal.argmax_rows([1 3 2; 5 0 5])   % returns [1; 0]
%
%   See also sb3.predict.

[~, idx] = max(x, [], 2);
idx = idx - 1;
end
