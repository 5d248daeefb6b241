function where = check_classes(v, where, depth, skip)
%CHECK_CLASSES Find a value of a class a bundle never holds (object, handle, sparse, ...).
%
%   WHERE = sb3.internal.check_classes(V, WHERE, DEPTH, SKIP) returns '' when V,
%   and everything inside its structs and cells down to DEPTH levels, is
%   double, single, an integer, logical, char, struct or cell, and full.
%   Otherwise it returns the path to the first offending value (WHERE is
%   the name of V, e.g. 'ops{3}.weight') and what it is: a function handle,
%   an object, a MATLAB string, a sparse matrix, or nesting deeper than
%   DEPTH. sb3.load_policy runs it before anything else touches the loaded
%   variables, so no overloaded method of a class runs on them. The field
%   SKIP of V (optional) is left out: sb3.internal.check_op checks the
%   classes of the ops' fields itself, in the pass it makes anyway.
%
%   Usage:
%     where = sb3.internal.check_classes(value, name, depth)
%     where = sb3.internal.check_classes(S, 'the bundle', 8, 'ops')
%
%   Example:
%     sb3.internal.check_classes(struct('a', {{1, @sin}}), 'S', 8)   % 'S.a{2} is a function_handle'
%
%   See also sb3.load_policy.

where_v = where;
c = class(v);
switch c
  case {'double', 'single', 'logical', 'char', 'int8', 'uint8', 'int16', 'uint16', 'int32', ...
        'uint32', 'int64', 'uint64'}
    if issparse(v)
      where = [where ' is sparse'];
    else
      where = '';
    end
    return;
  case {'struct', 'cell'}
    if depth <= 0
      where = [where ' nests too deeply'];
      return;
    end
  otherwise
    where = sprintf('%s is a %s', where, c);
    return;
end
if iscell(v)
  values = v(:);
else
  values = struct2cell(v(:));
  values = values(:);
  if nargin > 3
    values(strcmp(fieldnames(v), skip)) = {[]};
  end
end
% Plain arrays are checked in one pass; only the rest is walked into.
plain = (cellfun('isclass', values, 'double') | cellfun('isclass', values, 'single') | ...
         cellfun('isclass', values, 'char') | cellfun('isclass', values, 'logical')) & ...
        ~cellfun(@issparse, values);  % a handle: MATLAB's cellfun takes few names as text
where = '';
for k = find(~plain(:).')
  if iscell(v)
    name = sprintf('%s{%d}', where_v, k);
  else
    fields = fieldnames(v);
    name = sprintf('%s.%s', where_v, fields{mod(k - 1, numel(fields)) + 1});
  end
  where = sb3.internal.check_classes(values{k}, name, depth - 1);
  if ~isempty(where)
    return;
  end
end
end
