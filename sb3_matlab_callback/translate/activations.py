"""Elementwise activation modules and the op each becomes.

Each entry maps a ``torch.nn`` class to a function returning ``(op name, params)``.
Every op here is implemented in ``+sb3/predict.m``; ``docs/bundle-format.md`` gives
its formula.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

Translation = tuple[str, dict[str, Any]]

ACTIVATIONS: dict[type[nn.Module], Callable[[Any], Translation]] = {
    nn.ReLU: lambda m: ("relu", {}),
    nn.ReLU6: lambda m: ("hardtanh", {"min_val": 0.0, "max_val": 6.0}),
    nn.Tanh: lambda m: ("tanh", {}),
    nn.Sigmoid: lambda m: ("sigmoid", {}),
    nn.ELU: lambda m: ("elu", {"alpha": float(m.alpha)}),
    nn.CELU: lambda m: ("celu", {"alpha": float(m.alpha)}),
    nn.SELU: lambda m: ("selu", {}),
    nn.LeakyReLU: lambda m: ("leaky_relu", {"negative_slope": float(m.negative_slope)}),
    nn.RReLU: lambda m: ("leaky_relu", {"negative_slope": (m.lower + m.upper) / 2.0}),
    nn.PReLU: lambda m: ("prelu", {"weight": m.weight.reshape(1, -1)}),
    nn.SiLU: lambda m: ("silu", {}),
    nn.Mish: lambda m: ("mish", {}),
    nn.GELU: lambda m: ("gelu_tanh" if m.approximate == "tanh" else "gelu", {}),
    nn.Softplus: lambda m: ("softplus", {"beta": float(m.beta), "threshold": float(m.threshold)}),
    nn.Softsign: lambda m: ("softsign", {}),
    nn.Hardtanh: lambda m: ("hardtanh", {"min_val": float(m.min_val), "max_val": float(m.max_val)}),
    nn.Hardsigmoid: lambda m: ("hardsigmoid", {}),
    nn.Hardswish: lambda m: ("hardswish", {}),
    nn.LogSigmoid: lambda m: ("logsigmoid", {}),
    nn.Tanhshrink: lambda m: ("tanhshrink", {}),
    nn.Softshrink: lambda m: ("softshrink", {"lambd": float(m.lambd)}),
    nn.Hardshrink: lambda m: ("hardshrink", {"lambd": float(m.lambd)}),
    nn.Threshold: lambda m: ("threshold", {"threshold": float(m.threshold), "value": float(m.value)}),
}
