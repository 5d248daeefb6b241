function [state, starts] = critic_options(fname, args)
%CRITIC_OPTIONS Parse the 'State' and 'EpisodeStart' options of sb3.value and sb3.q_value.
%
%   [STATE, STARTS] = sb3.internal.critic_options(FNAME, ARGS) reads the
%   name/value pairs ARGS (names matched case-insensitively, char or string).
%   An unknown name or a missing value raises sb3:FNAME:badOption.
%
%   Example:
%     [state, starts] = sb3.internal.critic_options('value', {'State', []});
%
%   See also sb3.value, sb3.q_value.

state = [];
starts = [];
args = sb3.internal.text_args(args);
if mod(numel(args), 2) ~= 0
  error(['sb3:', fname, ':badOption'], 'Options must be name/value pairs.');
end
for k = 1:2:numel(args)
  name = args{k};
  if ischar(name) && strcmpi(name, 'State')
    state = args{k + 1};
  elseif ischar(name) && strcmpi(name, 'EpisodeStart')
    starts = args{k + 1};
  else
    error(['sb3:', fname, ':badOption'], ...
          'Unknown option for sb3.%s; valid options: State, EpisodeStart.', fname);
  end
end
end
