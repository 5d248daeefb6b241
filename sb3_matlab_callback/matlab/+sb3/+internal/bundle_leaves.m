function [leaves, names, layout, field, where, op] = bundle_leaves(S, limit)
%BUNDLE_LEAVES Flatten loaded bundle variables into their layout and their leaf values.
%
%   [LEAVES, NAMES, LAYOUT] = sb3.internal.bundle_leaves(S, LIMIT) walks the
%   scalar struct S and every struct and cell inside it, one level at a
%   time, and returns the values that are neither struct nor cell (LEAVES,
%   a column cell, in walk order), the field names of every struct met
%   (NAMES, in walk order) and LAYOUT, a column of numbers that describes
%   every level: for each container whether it is a struct, its number of
%   fields (a struct) or its number of dimensions, rows and elements (a
%   cell), and which of its values are containers. Two values with equal NAMES and
%   LAYOUT have the same containers, the same field names and their leaves
%   in the same places. LAYOUT is NaN when a struct inside S is not scalar
%   (a bundle has none) or S holds more than LIMIT containers: the walk
%   stops there.
%
%   [..., FIELD, WHERE, OP] = sb3.internal.bundle_leaves(...) also returns,
%   for each leaf, its field name ('' in a cell), the part of the bundle it
%   is in (WHERE: 'top' for a variable, 'reference' anywhere inside the
%   reference, 'input' for a field of an observation input, 'op' for a
%   field of an op, 'other' for the rest) and, for an op's field, the op's
%   number in ops (OP, else 0).
%
%   Only builtins that no object overloads are applied to the values (the
%   legacy cellfun names, struct2cell and fieldnames of structs), and a
%   level costs a few calls however many containers it holds.
%
%   Usage:
%     [leaves, names, layout] = sb3.internal.bundle_leaves(S, limit)
%
%   Example:
%     [leaves, names, layout] = sb3.internal.bundle_leaves(struct('a', {{1, 'x'}}), 10)
%
%   See also sb3.internal.bundle_skeleton, sb3.internal.reload_policy.

persistent get_names get_values
if isempty(get_names)
  get_names = @fieldnames;
  get_values = @struct2cell;
  if exist('OCTAVE_VERSION', 'builtin') ~= 0
    % Octave's fieldnames is an m-file around this builtin (0.1 ms less per bundle).
    get_names = '__fieldnames__';
    get_values = 'struct2cell';
  end
end
context = nargout > 3;
level = {S};
tags = {'top'};
leaves = cell(0, 1);
names = cell(0, 1);
layout = zeros(0, 1);
field = cell(0, 1);
where = cell(0, 1);
op = zeros(0, 1);
count = 0;
while ~isempty(level)
  count = count + numel(level);
  is_struct = cellfun('isclass', level, 'struct');
  if count > limit || any(cellfun('prodofsize', level(is_struct)) ~= 1)
    layout = NaN;
    return;
  end
  % Structs first, then cells; each container's values as one column.
  fields = cellfun(get_names, level(is_struct), 'UniformOutput', false);
  values = cellfun(get_values, level(is_struct), 'UniformOutput', false);
  cells = level(~is_struct).';
  nc = numel(cells);
  shape = zeros(0, 1);
  if nc > 0
    shape = [cellfun('ndims', cells); cellfun('size', cells, 1); cellfun('prodofsize', cells)];
    if all(shape(1:2 * nc) == [2 * ones(nc, 1); ones(nc, 1)])
      cells = {[cells{:}].'};  % rows (the common case): their elements, in order, in one go
    else
      for j = 1:nc
        cells{j} = cells{j}(:);
      end
    end
  end
  values = [vertcat(values{:}, cells{:}); cell(0, 1)];
  sub = cellfun('isclass', values, 'struct') | cellfun('isclass', values, 'cell');
  layout = [layout; numel(level); is_struct(:); cellfun('prodofsize', fields(:)); shape; ...
            sub]; %#ok<AGROW>
  names = vertcat(names, fields{:}); %#ok<AGROW>
  leaves = [leaves; values(~sub)]; %#ok<AGROW>
  if context
    % Each value's field name, the part of the bundle its container is in and, for the
    % fields of an op, the op's number (the ops are the elements of ops, in order).
    level_names = vertcat(fields{:}, cell(0, 1));
    counts = [cellfun('prodofsize', fields(:)); shape(2 * nc + 1:end)];
    value_field = [level_names; repmat({''}, sum(counts) - numel(level_names), 1)];
    order = [find(is_struct(:)); find(~is_struct(:))];
    ordered = tags(order);
    ordered = ordered(:);
    pos = repelem((1:numel(level)).', counts);
    pos = pos(:);
    value_tag = ordered(pos);
    value_tag = value_tag(:);
    is_op = strcmp(ordered, 'op');
    numbers = cumsum(is_op) .* is_op;
    value_op = numbers(pos);
    value_op = value_op(:);
    field = [field; value_field(~sub)]; %#ok<AGROW>
    where = [where; value_tag(~sub)]; %#ok<AGROW>
    op = [op; value_op(~sub)]; %#ok<AGROW>
    % The parts of the children: a variable names its part; inside the inputs and the
    % ops each element is an input or an op; inside the reference all is reference.
    child_tag = value_tag(sub);
    child_field = value_field(sub);
    next = repmat({'other'}, numel(child_tag), 1);
    top = strcmp(child_tag, 'top');
    next(top) = child_field(top);
    next(strcmp(child_tag, 'inputs')) = {'input'};
    next(strcmp(child_tag, 'ops')) = {'op'};
    next(strcmp(child_tag, 'reference')) = {'reference'};
    tags = next;
  end
  level = values(sub).';
end
end
