"""The lines of a generated function body, and the class of each register."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .spec import OpSpec, ProgramSpec


def number(value: float) -> str:
    """Return a double as MATLAB source that reads back exactly (``Inf`` and ``-Inf`` too)."""
    value = float(value)
    if np.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def vector(values: np.ndarray | list[float] | tuple[float, ...]) -> str:
    """Return a row vector literal; a scalar when it has one element."""
    items = [number(v) for v in np.asarray(values, dtype=np.float64).ravel()]
    return items[0] if len(items) == 1 else "[" + " ".join(items) + "]"


@dataclass
class Code:
    """A function body under construction: one statement per line, 2-space blocks.

    Registers are variables ``r1``, ``r2``, ... as in the bundle. Observation inputs
    stay ``double`` until an op needs ``single``; a ``linear`` op takes either, since
    ``double * single`` is ``single`` in MATLAB.
    """

    spec: ProgramSpec
    lines: list[str] = field(default_factory=list)
    double_regs: set[int] = field(default_factory=set)
    #: Registers that hold a trailing 1 after their elements (spec.py, *Bias folding*).
    unit_regs: set[int] = field(default_factory=set)
    #: A squashing tanh's output -> its input, where the unscale computes both (heads.py).
    squashed: dict[int, int] = field(default_factory=dict)
    depth: int = 0
    #: The position of ``action_masks`` among the function's arguments.
    mask_argument: int = 3

    def add(self, *lines: str) -> None:
        """Append statements at the current block depth."""
        self.lines.extend("  " * self.depth + line if line else "" for line in lines)

    def comment(self, text: str) -> None:
        """Append a ``%`` comment line."""
        self.add(f"% {text}")

    def reg(self, index: int) -> str:
        """Return the variable of register ``index``, as it is (double or single)."""
        return f"r{index}"

    def single(self, index: int) -> str:
        """Return an expression for register ``index`` as ``single``."""
        name = self.reg(index)
        return f"single({name})" if index in self.double_regs else name

    def single_var(self, index: int, name: str) -> str:
        """Return a variable holding register ``index`` as ``single``.

        That is the register itself, or ``name`` after a cast into it.
        """
        if index not in self.double_regs:
            return self.reg(index)
        self.add(f"{name} = single({self.reg(index)});")
        return name

    def out(self, op: OpSpec) -> str:
        """Return the variable the op writes."""
        return self.reg(op.output)

    def param(self, name: str) -> str:
        """Return the expression of the ``params`` field ``name``."""
        return f"params.{name}"
