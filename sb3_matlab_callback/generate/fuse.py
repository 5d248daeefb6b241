"""Less work per call: relus in place, single-use registers folded, variables shared.

Octave interprets the generated function one operation at a time; every assignment,
variable read, statement and temporary array costs it time (docs/performance.md). The
emitters write one statement per op (``r2 = [r1, 1] * W;``, ``r3 = r2 .* (r2 > 0);``,
``r9 = tanh(r6);``, ...). Three rewrites follow, in this order:

- :func:`relu_in_place`: a relu whose input is read there for the last time becomes
  ``r2(r2 < 0) = 0;``;
- :func:`inline_once` substitutes the expression of each register that is assigned once,
  at the top level, and read exactly once, in the next statement, so a linear layer and
  the action's post-processing become one line;
- :func:`reuse_registers` lets a register take over the variable of one it reads for the
  last time, when both have the same class and size (MATLAB Coder keeps a variable's
  class and size), so a chain of layers writes one variable.

SAC's default actor becomes (its squash and unscale written as one logistic by
:mod:`.heads`)::

    r2 = [obs, 1] * params.op1_weight;
    r2(r2 < 0) = 0;
    r2 = r2 * params.op3_weight;
    r2(r2 < 0) = 0;
    action(:) = 2 - 4 ./ (1 + 7.38905609893065.^(r2 * params.op5_weight));

A register read twice stays a variable, so no work is repeated, and no fold makes a
line longer than the style's limit.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping

_ASSIGNMENT = re.compile(r"^(r\d+) = (.+);$")
#: An expression that needs no brackets wherever it is substituted.
_ATOM = re.compile(r"^[A-Za-z]\w*(\.\w+)*$")


def _is_call(expression: str) -> bool:
    """Whether ``expression`` is one call ``name(...)`` whose brackets enclose the rest."""
    match = re.match(r"^[A-Za-z]\w*(\.\w+)*\(", expression)
    if not match or not expression.endswith(")"):
        return False
    depth = 0
    for position, char in enumerate(expression[match.end() - 1:], start=match.end() - 1):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return position == len(expression) - 1
    return False


def _operand(expression: str) -> str:
    """Return ``expression`` bracketed unless it is a name or a single call (maybe transposed)."""
    core = expression[:-2] if expression.endswith(".'") else expression
    if _ATOM.match(core) or _is_call(core):
        return expression
    return f"({expression})"


def _substitute(line: str, name: str, expression: str) -> str:
    """Replace the one use of ``name`` in ``line``; bracket ``expression`` only where needed.

    A whole call argument or a whole right-hand side needs no brackets.
    """
    match = re.search(rf"\b{name}\b", _code(line))
    before, after = line[:match.start()].rstrip(), line[match.end():].lstrip()
    whole = (before.endswith(("(", ",", "=")) and after.startswith((")", ",", ";")))
    return line[:match.start()] + (expression if whole else _operand(expression)) + line[match.end():]


def _code(line: str) -> str:
    """Return ``line`` with its comment and the contents of its char literals blanked.

    Positions are kept. A quote after a name, a closing bracket, a dot or another quote
    is a transpose.
    """
    out, in_string, previous = [], False, " "
    for position, char in enumerate(line):
        if in_string:
            in_string = char != "'"
            out.append(char if not in_string else " ")
            continue
        if char == "%":
            out.append(" " * (len(line) - position))
            break
        if char == "'" and not (previous.isalnum() or previous in "_)]}.'"):
            in_string = True
        out.append(char)
        previous = char
    return "".join(out)


def _uses(name: str, line: str) -> int:
    return len(re.findall(rf"\b{name}\b", _code(line)))


def inline_once(lines: list[str], limit: int) -> list[str]:
    """Return ``lines`` with single-use top-level registers folded into their one reader.

    :param limit: the longest line allowed; a fold that would make a longer line is not made.
    """
    lines = list(lines)
    index = 0
    while index < len(lines):
        match = _ASSIGNMENT.match(lines[index])
        reader = _next_statement(lines, index)
        if match and reader is not None and not lines[reader].startswith(" "):
            name, expression = match.groups()
            later = sum(_uses(name, line) for line in lines[index + 1:])
            folded = _substitute(lines[reader], name, expression) if later == 1 and \
                _uses(name, lines[reader]) == 1 else ""
            if folded and len(folded) <= limit:
                lines[reader] = folded
                del lines[index]
                index = max(index - 1, 0)
                continue
        index += 1
    return lines


def _next_statement(lines: list[str], index: int) -> int | None:
    """Return the index of the next line that is not a comment or blank, if any."""
    for position in range(index + 1, len(lines)):
        stripped = lines[position].strip()
        if stripped and not stripped.startswith("%"):
            return position
    return None


#: A relu as :mod:`.activations` writes it, on a register.
_RELU = re.compile(r"^(r\d+) = (r\d+) \.\* \(\2 > 0\);$")


def relu_in_place(lines: list[str], kinds: Mapping[int, Hashable]) -> list[str]:
    """Return ``lines`` with each relu of a register read there for the last time done in place.

    ``r3 = r2 .* (r2 > 0);`` becomes ``r2(r2 < 0) = 0;`` and later lines read ``r2`` for
    ``r3``: the same values (NaN stays NaN, as ``NaN < 0`` is false), computed without
    the product's conversion of the logical mask and with no new array (0.15-0.2 us less
    per relu in Octave). Both registers must be defined once at the top level and have the
    same kind.
    """
    lines = list(lines)
    for index, line in enumerate(lines):
        match = _RELU.match(line)
        if not match:
            continue
        target, source = match.groups()
        kind = kinds.get(int(source[1:]))
        if (kind is None or kinds.get(int(target[1:])) != kind or not _defined_once(lines, source)
                or not _defined_once(lines, target) or _last_use(lines, source) != index):
            continue
        lines[index] = f"{source}({source} < 0) = 0;"
        lines[index + 1:] = [_rename(text, {target: source}) for text in lines[index + 1:]]
    return lines


def reuse_registers(lines: list[str], kinds: Mapping[int, Hashable]) -> list[str]:
    """Return ``lines`` with each register renamed to a dead register of the same kind it reads.

    Only registers defined once at the top level (:func:`_defined_once`) take part; a
    register gives its variable to at most one other, and never a longer name (no line
    grows past the style's limit).

    :param kinds: register index -> its kind (class and shape); registers not in it keep
        their names.
    """
    names = {f"r{index}": kind for index, kind in kinds.items() if _defined_once(lines, f"r{index}")}
    last = {name: _last_use(lines, name) for name in names}
    variable = {name: name for name in names}
    free = set(names)
    for index, line in enumerate(lines):
        match = _ASSIGNMENT.match(line)
        if not match or match.group(1) not in names:
            continue
        target, expression = match.groups()
        donor = next((name for name in sorted(free) if last[name] == index and name != target
                      and names[name] == names[target] and _uses(name, expression)
                      and len(variable[name]) <= len(target)), None)
        if donor is not None:
            free.discard(donor)
            variable[target] = variable[donor]
    return [_rename(line, variable) for line in lines]


def _defined_once(lines: list[str], name: str) -> bool:
    """Whether ``name`` is assigned whole once, at the top level, and never in a block.

    After that it may change only by top-level indexed assignments (``name(...) = ...;``),
    which keep its class and size.
    """
    assigned = [line for line in lines if re.match(rf"^\s*{name}\b\s*[(=]", _code(line))]
    nested = any(line.startswith(" ") and _uses(name, line) for line in lines)
    return (not nested and bool(assigned) and _ASSIGNMENT.match(assigned[0]) is not None
            and not any(_ASSIGNMENT.match(line) for line in assigned[1:]))


def _last_use(lines: list[str], name: str) -> int:
    return max((i for i, line in enumerate(lines) if _uses(name, line)), default=-1)


def _rename(line: str, variable: Mapping[str, str]) -> str:
    """Rename the registers in ``line``'s code (not in its comment or char literals)."""
    for match in reversed(list(re.finditer(r"\br\d+\b", _code(line)))):
        new = variable.get(match.group(0), match.group(0))
        line = line[:match.start()] + new + line[match.end():]
    return line
