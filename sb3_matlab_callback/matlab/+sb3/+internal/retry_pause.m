function delay = retry_pause(attempt)
%RETRY_PAUSE Wait before retry ATTEMPT+1 of sb3.latest and sb3.poll; return the wait.
%
%   DELAY = sb3.internal.retry_pause(ATTEMPT) pauses 10 ms after the first
%   attempt, doubling each time up to 250 ms. With the 20 attempts sb3.latest
%   and sb3.poll make, a reader waits about 4 s in all before giving up.
%
%   Usage:
%     sb3.internal.retry_pause(attempt)
%
%   Example:
%     for attempt = 1:3
%       sb3.internal.retry_pause(attempt);
%     end
%
%   See also sb3.latest, sb3.poll.

delay = min(0.01 * 2 ^ (attempt - 1), 0.25);
pause(delay);
end
