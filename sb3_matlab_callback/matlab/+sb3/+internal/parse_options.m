function opts = parse_options(args)
%PARSE_OPTIONS Parse sb3.predict's name/value options.
%
%   OPTS = sb3.internal.parse_options(ARGS) returns a struct with fields
%   Deterministic, State, EpisodeStart and ActionMasks. Names are matched
%   case-insensitively; an unknown name or a missing value raises
%   sb3:predict:badOption.
%
%   Example:
%     opts = sb3.internal.parse_options({'Deterministic', false});
%
%   See also sb3.predict.

opts = struct('Deterministic', true, 'State', [], 'EpisodeStart', [], 'ActionMasks', []);
names = fieldnames(opts);
if mod(numel(args), 2) ~= 0
  error('sb3:predict:badOption', 'Options must be name/value pairs.');
end
for k = 1:2:numel(args)
  name = args{k};
  if ~ischar(name)
    error('sb3:predict:badOption', 'Option names must be char vectors or string scalars.');
  end
  match = find(strcmpi(name, names));
  if isempty(match)
    error('sb3:predict:badOption', 'Unknown option ''%s''. Valid options: %s.', name, ...
          strjoin(names.', ', '));
  end
  opts.(names{match}) = args{k + 1};
end
d = opts.Deterministic;
if ~(islogical(d) || isnumeric(d)) || ~isscalar(d)
  error('sb3:predict:badOption', '''Deterministic'' must be true or false.');
end
opts.Deterministic = logical(d);
end
