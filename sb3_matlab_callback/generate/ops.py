"""The op registry: for each op, how its output shape and params follow, and its emitter.

Each op family lives in its own module (:mod:`.layers`, :mod:`.activations`,
:mod:`.heads`) and registers its ops here with :func:`register`. An op the generator
does not know fails with an error that names it (and suggests a close name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import UnsupportedError, unsupported
from .code import Code
from .spec import OpSpec

ShapeFn = Callable[[OpSpec, dict[str, Any]], None]
EmitFn = Callable[[OpSpec, Code], None]

#: Ops that draw random numbers: they run only when sampling, which the generated
#: (deterministic) function never does.
STOCHASTIC_ONLY = frozenset({
    "gaussian_sample", "sde_sample", "categorical_sample", "multi_categorical_sample",
    "bernoulli_sample", "epsilon_greedy",
})


@dataclass(frozen=True)
class OpKind:
    """How to generate one op.

    ``shape`` fills the spec's output shape, constants and params from the bundle's op
    struct; ``emit`` writes its MATLAB statements.
    """

    shape: ShapeFn
    emit: EmitFn


OPS: dict[str, OpKind] = {}


def same_shape(spec: OpSpec, raw: dict[str, Any]) -> None:
    """Give the output the first input's shape and no params (the default shape rule)."""
    spec.out_shape = spec.in_shapes[0]


def register(*names: str, shape: ShapeFn = same_shape) -> Callable[[EmitFn], EmitFn]:
    """Register ``emit`` (the decorated function) and ``shape`` for each op in ``names``."""

    def decorator(emit: EmitFn) -> EmitFn:
        for name in names:
            OPS[name] = OpKind(shape, emit)
        return emit

    return decorator


def check_op(name: str, mode: str) -> None:
    """Refuse an op the generated function cannot run, naming it.

    :raises UnsupportedError: an unknown op, or a sampling op that would run deterministically.
    """
    if name in STOCHASTIC_ONLY:
        if mode != "stochastic":
            raise UnsupportedError(
                f"Op {name!r} runs with mode {mode!r}, but it draws random numbers: the "
                "generated MATLAB function is deterministic and runs only ops that do not."
            )
        return
    if name not in OPS:
        raise unsupported("op for generated MATLAB code", name, sorted(OPS),
                          "Use sb3.predict for this bundle, or update sb3-matlab-callback.")


from . import activations, heads, layers  # noqa: E402,F401  (each registers its ops)
