function id = retry_error_id(caller, last)
%RETRY_ERROR_ID Error ID for sb3.latest / sb3.poll after their retries ran out.
%
%   ID = sb3.internal.retry_error_id(CALLER, LAST) is 'sb3:CALLER:badManifest'
%   when the last failure LAST was a manifest that stayed unreadable or broke
%   its rules, and 'sb3:CALLER:unavailable' otherwise (a listed file that kept
%   missing, changing or failing to load).
%
%   Example:
%     id = sb3.internal.retry_error_id('poll', MException('sb3:poll:badFile', 'x'));
%
%   See also sb3.latest, sb3.poll.

id = sprintf('sb3:%s:unavailable', caller);
if strcmp(last.identifier, sprintf('sb3:%s:badManifest', caller))
  id = last.identifier;
end
end
