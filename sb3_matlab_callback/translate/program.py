"""The program a bundle carries: inputs -> ops on registers -> one action register.

A :class:`Program` knows nothing about algorithms. Extractors translate a policy into
input specs (observation preprocessing), ops (layers, distribution heads, action
post-processing) and an output register. The MATLAB runtime executes it as is.
See ``docs/bundle-format.md`` for every op and its fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch as th

#: ``mode`` values: an op runs always, only when deterministic, or only when sampling.
MODES = ("always", "deterministic", "stochastic")


@dataclass
class Op:
    """One step of the program: ``R{out} = op(R{inputs}...)`` with constant params."""

    op: str
    inputs: tuple[int, ...]
    output: int
    params: dict[str, Any] = field(default_factory=dict)
    mode: str = "always"


@dataclass
class Input:
    """How one observation (or one Dict key) becomes an ``N x d`` register."""

    key: str
    kind: str
    output: int
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Program:
    """A register machine: inputs fill registers, ops compute, ``output`` holds the action."""

    inputs: list[Input] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)
    output: int = 0
    num_registers: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    #: Registers holding images: ``N x H x W x C`` arrays, by register, with the torch
    #: per-sample shape ``(C, H, W)``. Every other register is ``N x d``.
    spatial: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    #: The value side (``critic=True``): a :class:`~sb3_matlab_callback.translate.critics.CriticProgram`
    #: whose ops use these registers but are kept apart from ``ops``.
    critic: Any = None

    def new_register(self) -> int:
        """Allocate a register and return its 1-based index."""
        self.num_registers += 1
        return self.num_registers

    def add_input(self, key: str, kind: str, **params: Any) -> int:
        """Add an observation input and return the register it fills."""
        reg = self.new_register()
        self.inputs.append(Input(key, kind, reg, _arrays(params)))
        return reg

    def add(self, op: str, *inputs: int, mode: str = "always", **params: Any) -> int:
        """Append ``op`` reading ``inputs`` into a new register and return that register."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        reg = self.new_register()
        self.ops.append(Op(op, tuple(inputs), reg, _arrays(params), mode))
        return reg

    def assign(self, op: str, target: int, *inputs: int, mode: str, **params: Any) -> int:
        """Append ``op`` that overwrites ``target`` (used for mode-specific branches)."""
        self.ops.append(Op(op, tuple(inputs), target, _arrays(params), mode))
        return target


def to_numpy(value: Any) -> Any:
    """Return a tensor (on any device) or array as NumPy in its own precision; anything else unchanged.

    Every tensor that goes into a bundle passes here: ``.detach().cpu()`` first, so
    weights and buffers of a model on a CUDA device are copied to host memory. float32
    stays float32 (MATLAB ``single``: torch's weights lose nothing, and an uncompressed
    bundle is half the size) and float64 stays float64; every other numeric type
    (float16, bfloat16, integers, bools) becomes float64.
    """
    if hasattr(value, "detach"):
        tensor = value.detach()
        if tensor.dtype not in (th.float32, th.float64):
            tensor = tensor.double()
        elif tensor.device.type == "cpu":  # a NumPy view would change as the model trains on
            tensor = tensor.clone()
        value = tensor.cpu().numpy()
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiub" and value.dtype not in _KEPT:
        value = value.astype(np.float64)
    return value


#: NumPy types a bundle stores as they are: MATLAB ``single`` and ``double``.
_KEPT = (np.dtype(np.float32), np.dtype(np.float64))


def _arrays(params: dict[str, Any]) -> dict[str, Any]:
    """Turn tensors into NumPy arrays (float32 or float64) so MATLAB gets single or double."""
    return {name: to_numpy(value) for name, value in params.items()}
