function [action, state] = predict(policy, obs, varargin)
%PREDICT Compute the action SB3's predict() gives for an observation or a batch.
%
%   ACTION = sb3.predict(POLICY, OBS) runs the policy loaded by
%   sb3.load_policy on OBS and returns the deterministic action, exactly as
%   SB3's model.predict(obs, deterministic=True), post-processing included
%   (tanh squash and unscale, or clipping, or argmax).
%
%   OBS is one observation in the space's own shape (a row or column vector
%   for a 1-D Box, H-by-W-by-C for an image) or a batch stacked along the
%   first dimension (N-by-d, N-by-H-by-W-by-C). Discrete observations are
%   integer indices, one per row; MultiDiscrete and MultiBinary take one row
%   per observation; a Dict observation is a struct with one field per key.
%   Images are taken as the env gives them: H-by-W-by-C, or C-by-H-by-W for
%   an env that gives channel-first images; like SB3, the runtime accepts an
%   image in the other layout too.
%
%   ACTION is double with one row per observation: N-by-A for Box, the index
%   0..n-1 for Discrete, N-by-k for MultiDiscrete and MultiBinary.
%
%   [ACTION, STATE] = sb3.predict(POLICY, OBS, Name, Value, ...) options:
%     'Deterministic'  true (default) or false to sample from the policy.
%     'State'          recurrent hidden state ([] means zeros).
%     'EpisodeStart'   N-by-1 logical, resets the state where true.
%     'ActionMasks'    N-by-(total choices) logical (MaskablePPO only):
%                      false sets that choice's logit to -1e8, as sb3-contrib.
%
%   For a recurrent policy (RecurrentPPO) STATE is a struct with fields h and
%   c, each num_layers-by-N-by-hidden_size double, as SB3's (h, c); pass it
%   back with 'State' on the next call. For other policies STATE is the
%   'State' option, unchanged, as SB3 returns it.
%
%   Frame stacking (a bundle exported from a VecFrameStack env): OBS is single
%   frames, as the unwrapped env gives them, and STATE.stack carries the
%   stack (N-by-stacked shape; [] starts from zeros). 'EpisodeStart' true
%   zero-fills that row's stack before the frame goes in last, as
%   VecFrameStack does after done. With RecurrentPPO, STATE has h, c and stack.
%
%   Usage:
%     action = sb3.predict(policy, obs)
%     [action, state] = sb3.predict(policy, obs, 'State', state, 'EpisodeStart', starts)
%
%   Example:
%     policy = sb3.load_policy('policy.mat');
%     a = sb3.predict(policy, [0.1 -0.2 0.3]);
%     A = sb3.predict(policy, randn(100, 3));
%
%   An observation must be real numeric or logical: text, complex, sparse,
%   cell or (for a non-Dict space) struct raise sb3:predict:badObsType; NaN
%   or Inf raise sb3:predict:badObsValue. (Not verified: MATLAB R2025a and
%   later, whose sparse arrays may be single, may compute a sparse row of a
%   flat Box policy like its full array instead of raising.) Option names may be char vectors or
%   string scalars. No op turns NaN into a number: a policy whose weights
%   hold NaN returns NaN (for discrete actions too), never a plausible action.
%
%   A Dict observation's struct field for each key is the key made a valid
%   MATLAB name (matlab.lang.makeValidName's rule; the bundle records it):
%   key 'achieved-goal' is field achieved_goal, key '1st' is field x1st.
%
%   Errors: sb3:predict:badObsSize, sb3:predict:badObsType, sb3:predict:badObsValue,
%   sb3:predict:missingKey, sb3:predict:badOption, sb3:predict:badState,
%   sb3:predict:badActionMasks.
%
%   See also sb3.load_policy, sb3.verify.

% The fast lane, kept to a few operators (Octave spends about 1.3 us on each builtin call,
% a third of that on an operator): a real float observation of the single flat Box input,
% one row or a batch of rows, each row's squares summing below the bound that load time
% proved overflow-free (sb3.internal.fast_lane). The probe product fails for any other
% width, a sparse or an N-D array; NaN, Inf and huge elements never sum below the bound.
% fast_fn takes exactly one row (it fails for a batch, or a scalar where d > 1); the batch
% handle then takes the rows (an Octave error costs about 13 us, once per batch call).
% Everything else goes to sb3.internal.predict_checked, which checks and interprets it.
% That path lives in its own file: with it inline, each call cost Octave 1 us more (its
% call overhead grows with the function's variables).
if nargin == 2 && isfloat(obs) && isreal(obs)
  try
    if (obs .* obs) * policy.fast_probe < policy.fast_limit2
      action = policy.fast_fn(obs);
      state = [];
      return;
    end
  catch
    try
      if (obs .* obs) * policy.fast_probe < policy.fast_limit2
        action = policy.fast_batch_fn(obs);
        state = [];
        return;
      end
    end  % not a row or a 2-D batch: the checked path below names the problem
  end
end
[action, state] = sb3.internal.predict_checked(policy, obs, sb3.internal.text_args(varargin));
end
