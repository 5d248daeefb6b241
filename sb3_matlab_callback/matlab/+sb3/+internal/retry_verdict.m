function [give_up, memo] = retry_verdict(kind, text, memo)
%RETRY_VERDICT Whether a failed attempt of sb3.latest, sb3.poll or sb3.runs is final.
%
%   [GIVE_UP, MEMO] = sb3.internal.retry_verdict(KIND, TEXT, MEMO) decides
%   after a failed attempt whether another one can succeed. KIND says what
%   failed, TEXT is the manifest text that attempt read, and MEMO carries
%   the previous attempt's KIND and TEXT ([] before the first). Only
%   transient states are retried:
%     'invalid'     the manifest breaks its rules or is not a regular file:
%                   final at once (attempt 1).
%     'unreadable'  the manifest is not JSON: final when the next attempt
%                   reads the same text (a replace would have changed it).
%     'file'        the listed bundle differs from the manifest (size or
%                   sha256) or does not load: final when it fails again
%                   with an unchanged manifest.
%     'busy'        the manifest cannot be opened (Windows, while it is
%                   replaced), and
%     'missing'     the listed bundle is gone (retention deleted it after
%                   committing a newer manifest): retried until the
%                   caller's attempts run out (about 4 s).
%
%   Usage:
%     [give_up, memo] = sb3.internal.retry_verdict(kind, text, memo)
%
%   Example:
%     [stop, memo] = sb3.internal.retry_verdict('file', '{}', []);       % false
%     stop = sb3.internal.retry_verdict('file', '{}', memo);             % true
%
%   See also sb3.latest, sb3.poll, sb3.runs, sb3.internal.read_manifest.

give_up = strcmp(kind, 'invalid') || ...
          (any(strcmp(kind, {'unreadable', 'file'})) && ~isempty(memo) && ...
           strcmp(memo.kind, kind) && strcmp(memo.text, text));
memo = struct('kind', kind, 'text', text);
end
