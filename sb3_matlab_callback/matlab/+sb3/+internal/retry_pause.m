function delay = retry_pause(attempt)
%RETRY_PAUSE Wait before retry ATTEMPT+1 of sb3.latest and sb3.poll; return the wait.
%
%   DELAY = sb3.internal.retry_pause(ATTEMPT) pauses 10 ms after the first
%   attempt, doubling each time up to 250 ms. With the 20 attempts sb3.latest
%   and sb3.poll make, a reader waits about 4 s in all before giving up. The
%   wait holds even after pause('off').
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

delay = min(0.01 * 2^(attempt - 1), 0.25);
start = tic;
pause(delay);
% pause('off') makes pause return at once: then sleep in Java (MATLAB) or wait on the clock.
left = delay - toc(start);
if left > 0.001 && exist('OCTAVE_VERSION', 'builtin') == 0 && usejava('jvm')
  java.lang.Thread.sleep(round(1000 * left));
end
while toc(start) < delay
  % busy wait: only reached when pause is off and no JVM sleeps for us
end
end
