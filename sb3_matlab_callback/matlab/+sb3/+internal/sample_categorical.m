function idx = sample_categorical(logits)
%SAMPLE_CATEGORICAL Draw one zero-based category per row from softmax(logits).
%
%   IDX = sb3.internal.sample_categorical(LOGITS) returns an N-by-1 double,
%   NaN for a row whose logits hold NaN.
%
%   Example:
%     idx = sb3.internal.sample_categorical(zeros(5, 3));
%
%   See also sb3.predict.

z = exp(logits - max(logits, [], 2));
c = cumsum(z, 2);
u = rand(size(logits, 1), 1) .* c(:, end);
idx = min(sum(c < u, 2), size(logits, 2) - 1);
idx(any(isnan(logits), 2)) = NaN;  % no category is drawn from NaN scores
end
