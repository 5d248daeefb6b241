"""Elementwise activations: one MATLAB expression each, on a row or an H-by-W-by-C image.

Formulas as ``+sb3/+internal/apply_op.m`` (docs/bundle-format.md). ReLU is written
``x .* (x > 0)``: operators cost Octave far less than a builtin call, and NaN stays NaN
as in torch. Where ``x`` is not read again, :func:`.fuse.relu_in_place` makes it
``x(x < 0) = 0;``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .code import Code, number
from .ops import register, same_shape
from .spec import OpSpec, Param

SELU_SCALE = "1.0507009873554804934193349852946"
SELU_ALPHA = "1.6732632423543772848170429916717"

#: op -> f(x, constants) giving the MATLAB expression of the result.
EXPRESSIONS: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "relu": lambda x, c: f"{x} .* ({x} > 0)",
    "tanh": lambda x, c: f"tanh({x})",
    "sigmoid": lambda x, c: f"1 ./ (1 + exp(-{x}))",
    "elu": lambda x, c: f"max({x}, 0) + {c['alpha']} * (exp(min({x}, 0)) - 1)",
    "celu": lambda x, c: f"max({x}, 0) + {c['alpha']} * (exp(min({x}, 0) / {c['alpha']}) - 1)",
    "selu": lambda x, c: f"{SELU_SCALE} * (max({x}, 0) + {SELU_ALPHA} * (exp(min({x}, 0)) - 1))",
    "leaky_relu": lambda x, c: f"max({x}, 0) + {c['negative_slope']} * min({x}, 0)",
    "silu": lambda x, c: f"{x} ./ (1 + exp(-{x}))",
    "mish": lambda x, c: f"{x} .* tanh(max({x}, 0) + log1p(exp(-abs({x}))))",
    "gelu": lambda x, c: f"0.5 * {x} .* (1 + erf({x} / sqrt(2)))",
    "gelu_tanh": lambda x, c: f"0.5 * {x} .* (1 + tanh(sqrt(2 / pi) * ({x} + 0.044715 * {x}.^3)))",
    "softsign": lambda x, c: f"{x} ./ (1 + abs({x}))",
    "hardtanh": lambda x, c: f"min(max({x}, {c['min_val']}), {c['max_val']})",
    "hardsigmoid": lambda x, c: f"min(max({x} / 6 + 0.5, 0), 1)",
    "hardswish": lambda x, c: f"{x} .* min(max({x} + 3, 0), 6) / 6",
    "logsigmoid": lambda x, c: f"min({x}, 0) - log1p(exp(-abs({x})))",
    "tanhshrink": lambda x, c: f"{x} - tanh({x})",
    "softshrink": lambda x, c: (f"({x} - {c['lambd']}) .* ({x} > {c['lambd']}) + "
                                f"({x} + {c['lambd']}) .* ({x} < -{c['lambd']})"),
    "hardshrink": lambda x, c: f"{x} .* (abs({x}) > {c['lambd']})",
}

#: The scalar constants each activation takes from the bundle.
CONSTANTS = {
    "elu": ("alpha",), "celu": ("alpha",), "leaky_relu": ("negative_slope",),
    "hardtanh": ("min_val", "max_val"), "softshrink": ("lambd",), "hardshrink": ("lambd",),
    "softplus": ("beta", "threshold"), "threshold": ("threshold", "value"),
}


def _constants_shape(spec: OpSpec, raw: dict[str, Any]) -> None:
    """Keep the input's shape; the scalar constants go into the code."""
    same_shape(spec, raw)
    spec.consts = {name: float(np.asarray(raw[name], dtype=np.float64).ravel()[0])
                   for name in CONSTANTS.get(spec.op, ())}


def _literal_constants(spec: OpSpec) -> dict[str, str]:
    return {name: number(value) for name, value in spec.consts.items()}


@register(*EXPRESSIONS, shape=_constants_shape)
def _emit_expression(spec: OpSpec, code: Code) -> None:
    expression = EXPRESSIONS[spec.op]
    x = code.single(spec.inputs[0])
    if expression("#", _literal_constants(spec)).count("#") > 1:  # a cast once, not per use
        x = code.single_var(spec.inputs[0], code.out(spec))
    code.add(f"{code.out(spec)} = {expression(x, _literal_constants(spec))};")
    if spec.unit and spec.inputs[0] in code.unit_regs:  # relu, hardshrink: 1 stays 1
        code.unit_regs.add(spec.output)


@register("softplus", shape=_constants_shape)
def _emit_softplus(spec: OpSpec, code: Code) -> None:
    c = _literal_constants(spec)
    x = code.single_var(spec.inputs[0], f"x{spec.index}")
    out, scaled, big = code.out(spec), f"t{spec.index}", f"m{spec.index}"
    code.add(f"{scaled} = {c['beta']} * {x};",
             f"{big} = {scaled} > {c['threshold']};",
             f"{out} = log1p(exp(min({scaled}, {c['threshold']}))) / {c['beta']};",
             f"{out}({big}) = {x}({big});")


@register("threshold", shape=_constants_shape)
def _emit_threshold(spec: OpSpec, code: Code) -> None:
    c = _literal_constants(spec)
    x, out = code.single(spec.inputs[0]), code.out(spec)
    code.add(f"{out} = {x};", f"{out}(~({out} > {c['threshold']})) = {c['value']};")


def _prelu_shape(spec: OpSpec, raw: dict[str, Any]) -> None:
    same_shape(spec, raw)
    weight = np.asarray(raw["weight"], dtype=np.float64).ravel()
    spec.params = [Param(f"op{spec.index}_weight", (1, weight.size), weight.reshape(1, -1))]


@register("prelu", shape=_prelu_shape)
def _emit_prelu(spec: OpSpec, code: Code) -> None:
    x, out = code.single(spec.inputs[0]), code.out(spec)
    code.add(f"{out} = max({x}, 0) + {code.param(spec.params[0].name)} .* min({x}, 0);")
