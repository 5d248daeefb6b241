function walk = mat5_walk(bytes, descend)
%MAT5_WALK Where each leaf of an uncompressed MAT v5 file lies in its bytes.
%
%   WALK = sb3.internal.mat5_walk(BYTES) reads the element tree of the MAT
%   v5 file image BYTES (a uint8 or int8 column, the whole file) and returns
%   one entry per leaf array (not a struct or cell), in file order, in the
%   struct WALK with column fields:
%     class    MAT class code (4 char, 6 double, 7 single, 9..15 integers)
%     dtype    the data element's type code (7 single, 9 double, 16 utf8, ...)
%     dims     a cell of size rows
%     start    byte index (1-based) of the first byte of the leaf's data
%     nbytes   number of data bytes
%     subs     a cell of substruct arrays: the leaf's place in what load
%              returns (S.ops{3}.weight is '.', 'ops'; '{}', {3}; '.', 'weight')
%     where, field, op    the leaf's context as sb3.internal.bundle_leaves
%              names it (where: 'top', 'reference', 'input', 'op' or the
%              variable's name for its fields, 'other' below; the op number)
%   WALK is [] for anything this reader does not take: compressed elements,
%   complex, sparse or logical-flagged arrays, struct arrays, objects, or a
%   malformed tree. Nothing in BYTES is executed or trusted: sizes are
%   checked against the bytes before they are used.
%
%   WALK = sb3.internal.mat5_walk(BYTES, DESCEND) walks into only the
%   top-level structs and cells named in the cellstr DESCEND; the others are
%   stepped over whole (their elements are not listed).
%
%   Every MAT v5 element is padded to 8 bytes after a 128-byte header, so the
%   walk reads the tags as one uint32 array (little-endian files only).
%
%   Usage:
%     walk = sb3.internal.mat5_walk(bytes)
%     walk = sb3.internal.mat5_walk(bytes, {'ops', 'inputs', 'reference'})
%
%   Example:
%     fid = fopen('policy.mat', 'r'); bytes = fread(fid, Inf, '*uint8'); fclose(fid);
%     walk = sb3.internal.mat5_walk(bytes);
%
%   See also sb3.internal.reload_map, sb3.internal.bundle_leaves.

walk = [];
bytes = bytes(:);
if ~isa(bytes, 'uint8')
  bytes = typecast(bytes, 'uint8');
end
total = numel(bytes);
if total < 136 || mod(total - 128, 8) ~= 0 || bytes(127) ~= 'I' || bytes(128) ~= 'M'
  return;
end
w = double(typecast(bytes(129:end), 'uint32'));
nw = numel(w);
n_max = 100000;  % leaves: far more than any bundle has
cls = [];
dtype = [];
start = [];
nbytes = [];
dims = {};
subs = {};
where = {};
field = {};
op = [];
count = 0;
ops_seen = 0;
% The frame stack: each container's end (last word), tag, field names and children seen.
frame_end = nw;
frame_tag = {'top'};
frame_names = {{}};
frame_seen = 0;
frame_cell = false;
frame_subs = {struct('type', {}, 'subs', {})};
frame_op = 0;
frame_expect = Inf;
p = 1;
while true
  while p > frame_end(end)
    if p ~= frame_end(end) + 1 || numel(frame_end) == 1
      if p ~= nw + 1
        return;
      end
      break;
    end
    if frame_seen(end) ~= frame_expect(end)
      return;  % fewer children than the container's size or field names say
    end
    frame_end(end) = [];
    frame_tag(end) = [];
    frame_names(end) = [];
    frame_seen(end) = [];
    frame_cell(end) = [];
    frame_subs(end) = [];
    frame_op(end) = [];
    frame_expect(end) = [];
  end
  if p > nw
    break;
  end
  if p + 1 > nw || w(p) ~= 14 || mod(w(p + 1), 8) ~= 0
    return;  % not an uncompressed miMATRIX (14); compressed ones are 15
  end
  last = p + 1 + w(p + 1) / 4;
  q = p + 2;
  if last > frame_end(end) || q + 5 > last || w(q) ~= 6 || w(q + 1) ~= 8
    return;
  end
  flags = w(q + 2);
  mclass = mod(flags, 256);
  if flags - mclass ~= 0
    return;  % complex, global or logical
  end
  q = q + 4;
  if w(q) ~= 5 || mod(w(q + 1), 4) ~= 0 || w(q + 1) < 8
    return;
  end
  nd = w(q + 1) / 4;
  if q + 1 + nd > last
    return;
  end
  dim = double(typecast(uint32(w(q + 2:q + 1 + nd)), 'int32')).';
  q = q + 2 + 2 * ceil(nd / 2);
  if q + 1 <= last && w(q) == 1 && w(q + 1) == 0
    name = '';  % a nested element's empty name: read without a call
    q = q + 2;
  else
    [name, q] = sb3.internal.mat5_text(w, bytes, q, last);
    if q < 0
      return;
    end
  end
  % This element's place: a variable, a struct field or a cell element of its parent.
  frame_seen(end) = frame_seen(end) + 1;
  k = frame_seen(end);
  parent_tag = frame_tag{end};
  if numel(frame_end) == 1
    here = struct('type', '.', 'subs', name);
    value_field = name;
  elseif frame_cell(end)
    here = struct('type', '{}', 'subs', {{k}});
    value_field = '';
  else
    if k > numel(frame_names{end})
      return;
    end
    value_field = frame_names{end}{k};
    here = struct('type', '.', 'subs', value_field);
  end
  if (mclass == 1 || mclass == 2) && nargin > 1 && numel(frame_end) == 1 && ...
     ~any(strcmp(name, descend))
    p = last + 1;  % a variable the caller does not need the inside of
    continue;
  end
  path = [frame_subs{end}, here];
  if mclass == 1 || mclass == 2
    if any(dim < 0)
      return;
    end
    names = {};
    if mclass == 2
      if prod(dim) ~= 1 || q + 1 > last || w(q) ~= 5 + 4 * 65536
        return;  % only scalar structs, with the small-element field name length
      end
      len = w(q + 1);
      q = q + 2;
      [text, q] = sb3.internal.mat5_text(w, bytes, q, last);
      if q < 0 || len < 1 || mod(numel(text), len) ~= 0
        return;
      end
      rows = reshape(text, len, []).';
      if any(rows(:) == ' ')
        return;  % no field name has a space; cellstr below trims them
      end
      rows(rows == char(0)) = ' ';
      names = cellstr(rows);
    end
    switch parent_tag
      case 'top'
        tag = value_field;
      case 'inputs'
        tag = 'input';
      case 'ops'
        tag = 'op';
      case 'reference'
        tag = 'reference';
      otherwise
        tag = 'other';
    end
    number = 0;
    if strcmp(tag, 'op')
      ops_seen = ops_seen + 1;
      number = ops_seen;
    end
    frame_end(end + 1) = last; %#ok<AGROW>
    frame_tag{end + 1} = tag; %#ok<AGROW>
    frame_names{end + 1} = names; %#ok<AGROW>
    frame_seen(end + 1) = 0; %#ok<AGROW>
    frame_cell(end + 1) = mclass == 1; %#ok<AGROW>
    frame_subs{end + 1} = path; %#ok<AGROW>
    frame_op(end + 1) = number; %#ok<AGROW>
    frame_expect(end + 1) = max(prod(dim) * (mclass == 1), numel(names)); %#ok<AGROW>
    p = q;
    if (mclass == 1 && prod(dim) == 0) || (mclass == 2 && isempty(names))
      p = last + 1;
    end
    continue;
  end
  if ~any(mclass == [4, 6:15]) || any(dim < 0) || count == n_max
    return;
  end
  % The data element: normal (tag, count, data, padding) or small (count in the tag).
  first = 0;
  n = 0;
  type = 0;
  if q + 1 <= last
    if w(q) >= 65536
      type = mod(w(q), 65536);
      n = (w(q) - type) / 65536;
      first = 128 + 4 * q + 1;
      q = q + 2;
    else
      type = w(q);
      n = w(q + 1);
      first = 128 + 4 * (q + 1) + 1;
      q = q + 2 + 2 * ceil(n / 8);
    end
  elseif prod(dim) ~= 0
    return;
  end
  if q ~= last + 1 || first + n - 1 > total
    return;
  end
  count = count + 1;
  cls(count, 1) = mclass; %#ok<AGROW>
  dtype(count, 1) = type; %#ok<AGROW>
  start(count, 1) = first; %#ok<AGROW>
  nbytes(count, 1) = n; %#ok<AGROW>
  dims{count, 1} = dim; %#ok<AGROW>
  subs{count, 1} = path; %#ok<AGROW>
  where{count, 1} = parent_tag; %#ok<AGROW>
  field{count, 1} = value_field; %#ok<AGROW>
  op(count, 1) = frame_op(end); %#ok<AGROW>
  p = last + 1;
end
walk = struct('class', cls, 'dtype', dtype, 'start', start, 'nbytes', nbytes, 'op', op);
walk.dims = dims;
walk.subs = subs;
walk.where = where;
walk.field = field;
end
