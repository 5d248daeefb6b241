function [obs, rest, stack] = frame_stack(policy, frames, state, starts)
%FRAME_STACK Add single frames to the frame stack carried in 'State', as VecFrameStack.
%
%   [OBS, REST, STACK] = sb3.internal.frame_stack(POLICY, FRAMES, STATE, STARTS)
%   takes single frames (one, or N stacked along the first dimension; a
%   struct with one field per key for a Dict), as the unwrapped env gives
%   them, and the 'State' and 'EpisodeStart' options of sb3.predict. STATE
%   is [] (a fresh stack: zeros) or a struct whose field stack holds the
%   previous stacked observations (N-by-stacked_shape; for a Dict, a struct
%   with one such field per key). It then does what SB3's VecFrameStack
%   does, per key:
%     1. when VecNormalize sits inside the stack, normalize each frame
%        (the stack holds normalized frames);
%     2. where STARTS is true, zero that row's stack (as after done);
%     3. drop the oldest frame and put the new one last along the stack
%        axis (channels-last images and vectors: the last axis;
%        channels-first images: the first).
%   OBS is the stacked observation batch for sb3.internal.prepare_inputs,
%   STACK the new stack and REST the rest of STATE (the LSTM's h and c, or
%   []). Errors: sb3:predict:badState, sb3:predict:badObsSize,
%   sb3:predict:badObsType, sb3:predict:badObsValue, sb3:predict:missingKey.
%
%   Example:
%     [obs, rest, stack] = sb3.internal.frame_stack(policy, frame, [], true);
%
%   See also sb3.predict, sb3.internal.compile_frame_stack.

rest = [];
old = [];
if ~isempty(state)
  if ~isstruct(state) || ~isscalar(state) || ~isfield(state, 'stack')
    error('sb3:predict:badState', ...
          ['''State'' must be [] or the state sb3.predict returned: a struct with ' ...
           'the field stack (this policy stacks %d frames).'], policy.frame_stack.n_stack);
  end
  old = state.stack;
  rest = rmfield(state, 'stack');
  if isempty(fieldnames(rest))
    rest = [];
  end
end
items = policy.frame_stack.inputs;
obs = [];
stack = [];
if ~isempty(items) && items{1}.is_dict
  obs = struct();
  stack = struct();
end
n = -1;
for i = 1:numel(items)
  in = items{i};
  if in.is_dict
    if ~isstruct(frames) || ~isscalar(frames) || ~isfield(frames, in.field)
      error('sb3:predict:missingKey', ...
            'Frame must be a struct with field ''%s'' (Dict key ''%s'').', in.field, in.key);
    end
    x = frames.(in.field);
    previous = [];
    if ~isempty(old)
      if ~isstruct(old) || ~isfield(old, in.field)
        error('sb3:predict:badState', 'state.stack must be a struct with the field ''%s''.', ...
              in.field);
      end
      previous = old.(in.field);
    end
  else
    x = frames;
    previous = old;
  end
  sb3.internal.check_obs(x, in);
  [x, ni] = sb3.internal.frame_rows(x, in);
  if n >= 0 && ni ~= n
    error('sb3:predict:badObsSize', ...
          'Dict frame key ''%s'' has %d rows but an earlier key has %d.', in.key, ni, n);
  end
  n = ni;
  if in.normalize
    x = min(max((x - in.mean) .* in.inv_std, -in.clip_obs), in.clip_obs);
  end
  shape = [n, in.stacked_shape];
  if isempty(previous)
    previous = zeros(shape);
  elseif ~(isnumeric(previous) && isreal(previous) && ...
           isequal(sb3.internal.pad_size(size(previous), numel(shape)), shape))
    label = '';
    if in.is_dict
      label = ['.', in.field];
    end
    error('sb3:predict:badState', ...
          'state.stack%s must be %s (N-by-stacked shape), as sb3.predict returned it; got %s.', ...
          label, mat2str(shape), mat2str(size(previous)));
  end
  previous = double(previous);
  if ~isempty(starts)
    if numel(starts) ~= n || ~(islogical(starts) || isnumeric(starts))
      error('sb3:predict:badState', ...
            '''EpisodeStart'' must have one element per observation (%d).', n);
    end
    previous(logical(starts(:)), :) = 0;
  end
  idx = repmat({':'}, 1, numel(shape));
  idx{in.dim} = (in.frame_len + 1):in.stacked_shape(in.dim - 1);
  s = cat(in.dim, previous(idx{:}), x);
  if in.is_dict
    obs.(in.field) = s;
    stack.(in.field) = s;
  else
    obs = s;
    stack = s;
  end
end
end
