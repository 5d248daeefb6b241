function problem = check_sequence(ref, items)
%CHECK_SEQUENCE Check that a bundle's reference observations fit its actions and frame stack.
%
%   PROBLEM = sb3.internal.check_sequence(REF, ITEMS) returns '' when the
%   reference REF of a bundle (a struct with observations and an N-by-k
%   actions matrix) is what sb3.verify can replay:
%     - with a frame stack (ITEMS: the checked frame_stack.inputs, empty
%       without one), REF.episode_starts is present, and each observation
%       (the field of each Dict key) is N single frames of frame_shape;
%     - REF.episode_starts, where present (sb3.verify then replays the
%       observations step by step), holds N zeros and ones, and the
%       observations (each field of a Dict struct) are real numbers with
%       one row per step.
%   Otherwise PROBLEM names the reference field and what is wrong.
%
%   Usage:
%     problem = sb3.internal.check_sequence(ref, items)
%
%   Example:
%     ref = struct('observations', zeros(4, 3), 'actions', zeros(4, 1), ...
%                  'episode_starts', [1; 0; 0; 0]);
%     problem = sb3.internal.check_sequence(ref, {})   % ''
%
%   See also sb3.internal.check_frame_stack, sb3.internal.replay_reference.

problem = '';
n = size(ref.actions, 1);
has_starts = isfield(ref, 'episode_starts');
if ~isempty(items) && ~has_starts
  problem = ['reference.episode_starts is missing: a frame-stacked bundle''s reference is ' ...
             'a sequence of single frames'];
  return;
end
if ~has_starts
  return;
end
e = ref.episode_starts;
if ~(isnumeric(e) || islogical(e)) || ~isreal(e) || issparse(e) || ~isvector(e) || ...
   any(e(:) ~= 0 & e(:) ~= 1)
  problem = 'reference.episode_starts must be a vector of zeros and ones, one per step';
  return;
elseif numel(e) ~= n
  problem = sprintf(['reference.episode_starts has %d steps but reference.actions %d rows: ' ...
                     'they must agree'], numel(e), n);
  return;
end
obs = ref.observations;
names = {''};
if isstruct(obs)
  if ~isscalar(obs)
    problem = 'reference.observations must be an array, or a scalar struct for a Dict';
    return;
  end
  names = fieldnames(obs).';
end
for k = 1:numel(names)
  label = 'reference.observations';
  x = obs;
  if ~isempty(names{k})
    label = [label, '.', names{k}];
    x = obs.(names{k});
  end
  if ~(isnumeric(x) || islogical(x)) || ~isreal(x) || issparse(x) || size(x, 1) ~= n
    problem = sprintf('%s must be real numbers with one row per reference action (%d)', label, n);
    return;
  end
end
for i = 1:numel(items)
  in = items{i};
  shape = double(in.frame_shape(:).');
  label = 'reference.observations';
  x = obs;
  if ~isempty(in.key)
    label = [label, '.', in.field];
    if ~isstruct(obs) || ~isfield(obs, in.field)
      problem = sprintf('%s is missing: the frames of Dict key ''%s''', label, in.key);
      return;
    end
    x = obs.(in.field);
  elseif isstruct(obs)
    problem = 'reference.observations must be an array of frames';
    return;
  end
  sz = size(x);
  if ~isequal(sb3.internal.pad_size(sz(2:end), numel(shape)), shape)
    problem = sprintf('%s must be %d frames of shape %s (N-by-frame_shape); it is %s', label, ...
                      n, mat2str(shape), mat2str(sz));
    return;
  end
end
end
