function y = apply_op(o, x, R)
%APPLY_OP Evaluate one op that sb3.predict does not inline.
%
%   Y = sb3.internal.apply_op(O, X, R) computes op O on its first input X;
%   ops with more inputs read them from the register cell R. Formulas match
%   torch.nn and SB3 exactly (see docs/bundle-format.md); elementwise
%   activations are in sb3.internal.activation. NaN is never turned into a
%   number: where a score is NaN, the action is NaN.
%
%   Example:
%     y = sb3.internal.apply_op(struct('op', 'sigmoid'), [-1 0 1], {});
%
%   See also sb3.predict.

switch o.op
  case 'concat'
    y = [R{o.inputs}];
  case 'conv2d'
    y = sb3.internal.conv2d(x, o);
  case 'flatten'
    % N x H x W x C image register -> torch's C-order flatten of (C, H, W).
    y = reshape(permute(x, [1 3 2 4]), size(x, 1), []);
  case 'batch_norm'
    y = (x - o.mean) ./ o.std .* o.weight + o.bias;
  case 'layer_norm'
    mu = mean(x, 2);
    xc = x - mu;
    y = xc ./ sqrt(mean(xc.^2, 2) + o.eps) .* o.weight + o.bias;
  case 'mean'
    % Mean over torch dimension o.dim of each row viewed in C order as o.shape.
    k = numel(o.shape);
    y = mean(reshape(x, [size(x, 1), fliplr(o.shape)]), k - o.dim + 1);
    y = reshape(y, size(x, 1), []);
  case 'epsilon_greedy'
    % As DQN.predict: with probability epsilon the whole batch acts at random.
    y = x;
    if rand() < o.epsilon
      y = floor(rand(size(x, 1), 1) * o.n);
    end
  case 'multi_argmax'
    y = sb3.internal.split_reduce(x, o.nvec, @(z) sb3.internal.argmax_rows(z));
  case 'binary'
    y = double(x > 0);
    y(isnan(x)) = NaN;
  case 'gaussian_sample'
    if isfield(o, 'std')
      y = x + o.std .* randn(size(x));
    else
      y = x + exp(R{o.inputs(2)}) .* randn(size(x));
    end
  case 'sde_sample'
    y = x + R{o.inputs(2)} * (o.std .* randn(size(o.std)));
  case 'categorical_sample'
    y = sb3.internal.sample_categorical(x);
  case 'multi_categorical_sample'
    y = sb3.internal.split_reduce(x, o.nvec, @(z) sb3.internal.sample_categorical(z));
  case 'bernoulli_sample'
    y = double(rand(size(x)) < 1 ./ (1 + exp(-x)));
    y(isnan(x)) = NaN;
  otherwise
    y = sb3.internal.activation(o, x);
end
end
