"""Fewer statements: fold a register used once into the statement that uses it.

Octave interprets the generated function one operation at a time; every assignment,
variable read and statement costs it time (docs/performance.md). The emitters write one
statement per op (``r2 = [r1, 1] * W;``, ``r9 = tanh(r6);``, ...). :func:`inline_once`
substitutes the expression of each register that is assigned once, at the top level,
and read exactly once, in the next statement, so a linear layer with its activation
and the action's post-processing each become one line, e.g.::

    r4 = (r2 .* (r2 > 0)) * params.op3_weight;
    action(:) = tanh((r4 .* (r4 > 0)) * params.op5_weight) .* 2;

A register read twice (``x .* (x > 0)``) stays a variable, so no work is repeated, and
no fold makes a line longer than the style's limit.
"""

from __future__ import annotations

import re

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
