function tf = is_bare_name(name)
%IS_BARE_NAME True for a plain file name: a path that cannot leave its folder.
%
%   TF = sb3.internal.is_bare_name(NAME) is true when NAME is a non-empty
%   char row vector with no folder part: no '/' or '\' (so not absolute and
%   no UNC path), no ':' (no drive letter such as 'C:x.mat', no Windows
%   stream), no NUL character, and not '.' or '..'. This is the rule of
%   manifest.json's file names, the same as the Python package's
%   is_bare_name. A name such as '..x.mat' stays in the folder and is
%   allowed.
%
%   Usage:
%     tf = sb3.internal.is_bare_name(name)
%
%   Example:
%     sb3.internal.is_bare_name('policy_v000001.mat')   % true
%     sb3.internal.is_bare_name('../outside.mat')       % false
%
%   See also sb3.internal.read_manifest.

tf = ischar(name) && ~isempty(name) && size(name, 1) == 1 && ndims(name) == 2 && ...
     ~any(name == '/' | name == '\' | name == ':' | name == char(0)) && ...
     ~strcmp(name, '.') && ~strcmp(name, '..');
end
