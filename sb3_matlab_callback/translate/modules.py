"""Translate ``torch.nn`` modules into program ops.

Lookup is by exact class: a subclass may override ``forward``, so it is never
assumed to behave like its parent. Extend with :func:`register_module`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from torch import nn

from ..errors import UnsupportedError, unsupported
from .activations import ACTIVATIONS
from .program import Op, Program, to_numpy

ModuleTranslator = Callable[[nn.Module, Program, int], int]

_MODULES: dict[type[nn.Module], ModuleTranslator] = {}

REGISTER_HINT = (
    "Register a translation with sb3_matlab_callback.register_module(YourModule) "
    "or a whole policy with sb3_matlab_callback.register_extractor (see README, "
    "'Extending')."
)


def register_module(cls: type[nn.Module]) -> Callable[[ModuleTranslator], ModuleTranslator]:
    """Register ``fn(module, program, in_reg) -> out_reg`` as the translation of ``cls``.

    :param cls: the exact ``nn.Module`` class handled by the decorated function.
    :return: a decorator that registers and returns the function.
    """

    def decorator(fn: ModuleTranslator) -> ModuleTranslator:
        _MODULES[cls] = fn
        return fn

    return decorator


def supported_modules() -> list[str]:
    """Return the names of every module class that can be translated."""
    return sorted({c.__name__ for c in _MODULES} | {c.__name__ for c in ACTIVATIONS})


#: Ops that work elementwise, so an image register keeps its shape through them.
ELEMENTWISE_OPS = frozenset({
    "relu", "tanh", "sigmoid", "elu", "celu", "selu", "leaky_relu", "silu", "mish", "gelu",
    "gelu_tanh", "softplus", "softsign", "hardtanh", "hardsigmoid", "hardswish",
    "logsigmoid", "tanhshrink", "softshrink", "hardshrink", "threshold",
})


def translate(module: nn.Module, program: Program, reg: int) -> int:
    """Append the ops computing ``module(R{reg})`` and return the result register.

    :raises UnsupportedError: naming the module class when it has no translation.
    """
    cls = type(module)
    first = len(program.ops)
    if cls in _MODULES:
        out = _MODULES[cls](module, program, reg)
    elif cls in ACTIVATIONS:
        op, params = ACTIVATIONS[cls](module)
        out = program.add(op, reg, **params)
    else:
        raise unsupported("policy module", cls.__name__, supported_modules(), REGISTER_HINT)
    if cls not in _BUILTIN:
        _keep_image_shape(program, reg, out, program.ops[first:], cls.__name__)
    return out


def _elementwise(op: Op) -> bool:
    weight = op.params.get("weight")
    return op.op in ELEMENTWISE_OPS or (op.op == "prelu" and np.size(weight) == 1)


def _keep_image_shape(program: Program, reg: int, out: int, ops: list[Op], name: str) -> None:
    """Check the result of a translation applied to an image register.

    ``out`` becomes an image of the same shape when only elementwise ops led there; a
    flattened result is fine; anything else has an unknown shape and is refused.
    """
    if reg not in program.spatial or out == reg or out in program.spatial:
        return
    if all(_elementwise(op) for op in ops):
        program.spatial[out] = program.spatial[reg]
    elif not any(op.op == "flatten" for op in ops):
        raise UnsupportedError(
            f"Unsupported policy module {name!r} applied to an image (shape "
            f"{program.spatial[reg]}): only elementwise modules, Conv2d and Flatten are. Add "
            "nn.Flatten() before it, or register a translation with "
            "sb3_matlab_callback.register_module that sets program.spatial for its output."
        )


def _flat_only(module: nn.Module, program: Program, reg: int) -> None:
    """Refuse a module that works on feature vectors when its input is an image."""
    if reg in program.spatial:
        raise UnsupportedError(
            f"Unsupported policy module {type(module).__name__!r} applied to an image "
            f"(shape {program.spatial[reg]}): add nn.Flatten() before it, or register a "
            "translation with sb3_matlab_callback.register_module."
        )


def check(module: nn.Module) -> None:
    """Raise the error :func:`translate` would raise, without building anything."""
    translate(module, Program(), Program().new_register())


@register_module(nn.Sequential)
def _sequential(module: nn.Sequential, program: Program, reg: int) -> int:
    for child in module:
        reg = translate(child, program, reg)
    return reg


@register_module(nn.Linear)
def _linear(module: nn.Linear, program: Program, reg: int) -> int:
    _flat_only(module, program, reg)
    bias = module.bias if module.bias is not None else module.weight.new_zeros(module.out_features)
    return program.add("linear", reg, weight=module.weight, bias=bias.reshape(1, -1))


@register_module(nn.Identity)
def _identity(module: nn.Identity, program: Program, reg: int) -> int:
    return reg


@register_module(nn.Flatten)
def _flatten(module: nn.Flatten, program: Program, reg: int) -> int:
    if module.start_dim != 1 or module.end_dim != -1:
        raise UnsupportedError(
            f"Unsupported policy module 'Flatten' with start_dim={module.start_dim}, "
            f"end_dim={module.end_dim}; only nn.Flatten() (start_dim=1, end_dim=-1) is supported."
        )
    return flatten(program, reg)


def flatten(program: Program, reg: int) -> int:
    """Flatten an image register in torch's C order of ``(C, H, W)``; others are already flat."""
    if reg not in program.spatial:
        return reg  # N x d, flattened in C order by its input spec
    return program.add("flatten", reg)


@register_module(nn.Conv2d)
def _conv2d(module: nn.Conv2d, program: Program, reg: int) -> int:
    if reg not in program.spatial:
        raise UnsupportedError(
            "Unsupported policy module 'Conv2d' on a flat input: it needs an image "
            "(a 3-D Box observation)."
        )
    if module.groups != 1 or module.padding_mode != "zeros":
        raise UnsupportedError(
            f"Unsupported policy module 'Conv2d' with groups={module.groups}, "
            f"padding_mode={module.padding_mode!r}; only groups=1 and zero padding are supported."
        )
    channels, height, width = program.spatial[reg]
    if channels != module.in_channels:
        raise UnsupportedError(f"Conv2d expects {module.in_channels} channels, its input has {channels}.")
    pad = _conv_padding(module)
    (kh, kw), (sh, sw), (dh, dw) = module.kernel_size, module.stride, module.dilation
    out_h = (height + pad[0] + pad[1] - dh * (kh - 1) - 1) // sh + 1
    out_w = (width + pad[2] + pad[3] - dw * (kw - 1) - 1) // sw + 1
    if out_h < 1 or out_w < 1:
        raise UnsupportedError(f"Conv2d's kernel {module.kernel_size} does not fit its "
                               f"{height}x{width} input.")
    bias = module.bias if module.bias is not None else module.weight.new_zeros(module.out_channels)
    out = program.add("conv2d", reg, weight=module.weight, bias=bias.reshape(1, -1),
                      kernel_size=np.array([[kh, kw]], dtype=np.float64),
                      stride=np.array([[sh, sw]], dtype=np.float64),
                      padding=np.array([pad], dtype=np.float64),
                      dilation=np.array([[dh, dw]], dtype=np.float64))
    program.spatial[out] = (module.out_channels, out_h, out_w)
    return out


def _conv_padding(module: nn.Conv2d) -> list[int]:
    """Zero padding as ``[top, bottom, left, right]``, as torch applies it."""
    if module.padding == "valid":
        return [0, 0, 0, 0]
    if module.padding == "same":
        pads = []
        for k, d in zip(module.kernel_size, module.dilation, strict=True):
            total = d * (k - 1)
            pads += [total // 2, total - total // 2]
        return pads
    ph, pw = module.padding
    return [ph, ph, pw, pw]


@register_module(nn.BatchNorm1d)
def _batch_norm(module: nn.BatchNorm1d, program: Program, reg: int) -> int:
    _flat_only(module, program, reg)
    if not module.track_running_stats or module.running_mean is None:
        raise UnsupportedError(
            "Unsupported policy module 'BatchNorm1d' with track_running_stats=False: it "
            "normalizes with each batch's own statistics even at inference."
        )
    return _normalize(program, reg, module.running_mean, module.running_var, module.eps,
                      module.weight if module.affine else None,
                      module.bias if module.affine else None)


def _normalize(program: Program, reg: int, mean: Any, var: Any, eps: float,
               weight: Any, bias: Any) -> int:
    """Append a ``batch_norm`` op: inference-mode normalization with running statistics."""
    mean = to_numpy(mean).reshape(1, -1)
    weight = np.ones_like(mean) if weight is None else to_numpy(weight).reshape(1, -1)
    bias = np.zeros_like(mean) if bias is None else to_numpy(bias).reshape(1, -1)
    return program.add("batch_norm", reg, mean=mean, var=to_numpy(var).reshape(1, -1),
                       eps=float(eps), weight=weight, bias=bias)


@register_module(nn.LayerNorm)
def _layer_norm(module: nn.LayerNorm, program: Program, reg: int) -> int:
    _flat_only(module, program, reg)
    if len(module.normalized_shape) != 1:
        raise UnsupportedError("Unsupported policy module 'LayerNorm' over more than one dimension.")
    size = module.normalized_shape[0]
    weight = module.weight if module.weight is not None else np.ones((1, size))
    bias = module.bias if module.bias is not None else np.zeros((1, size))
    return program.add("layer_norm", reg, eps=float(module.eps),
                       weight=to_numpy(weight).reshape(1, -1), bias=to_numpy(bias).reshape(1, -1))


def _register_contrib_modules() -> None:
    """Translate sb3-contrib's modules when the ``contrib`` extra is installed."""
    try:
        from sb3_contrib.common.torch_layers import BatchRenorm1d
    except ImportError:  # pragma: no cover - sb3-contrib is optional
        return

    @register_module(BatchRenorm1d)
    def _batch_renorm(module: BatchRenorm1d, program: Program, reg: int) -> int:
        # In eval mode (predict) BatchRenorm normalizes with its running statistics.
        _flat_only(module, program, reg)
        return _normalize(program, reg, module.ra_mean, module.ra_var, module.eps,
                          module.scale if module.affine else None,
                          module.bias if module.affine else None)


_register_contrib_modules()

#: Module translations of this package: they keep ``program.spatial`` right themselves.
_BUILTIN = frozenset(_MODULES)


def translate_lstm(lstm: nn.LSTM, program: Program, reg: int) -> int:
    """Append one recurrent ``lstm`` step; the program's state becomes its ``(h, c)``.

    :param lstm: a plain ``nn.LSTM`` (sequence first, unidirectional, no projection).
    :param program: the program to extend; it may hold one recurrent state only.
    :param reg: the ``N x input_size`` features register.
    :return: the register holding the last layer's new hidden state ``N x hidden_size``.
    """
    _flat_only(lstm, program, reg)
    if type(lstm) is not nn.LSTM:
        raise unsupported("recurrent module", type(lstm).__name__, ["LSTM"], REGISTER_HINT)
    if lstm.bidirectional or lstm.proj_size or lstm.batch_first:
        raise UnsupportedError(
            "Unsupported LSTM: bidirectional, proj_size and batch_first are not supported "
            f"(got bidirectional={lstm.bidirectional}, proj_size={lstm.proj_size}, "
            f"batch_first={lstm.batch_first})."
        )
    if program.state:
        raise UnsupportedError("A program can carry one recurrent state only (one LSTM).")
    hidden = lstm.hidden_size
    layers = np.empty((1, lstm.num_layers), dtype=object)
    for k in range(lstm.num_layers):
        weight_ih = getattr(lstm, f"weight_ih_l{k}")
        zeros = np.zeros((1, 4 * hidden))
        layers[0, k] = {
            "weight_ih": to_numpy(weight_ih),
            "weight_hh": to_numpy(getattr(lstm, f"weight_hh_l{k}")),
            "bias_ih": to_numpy(getattr(lstm, f"bias_ih_l{k}")).reshape(1, -1) if lstm.bias else zeros,
            "bias_hh": to_numpy(getattr(lstm, f"bias_hh_l{k}")).reshape(1, -1) if lstm.bias else zeros,
        }
    program.state = {"kind": "lstm", "num_layers": float(lstm.num_layers),
                     "hidden_size": float(hidden)}
    return program.add("lstm", reg, layers=layers, num_layers=float(lstm.num_layers),
                       hidden_size=float(hidden))


@register_module(nn.Dropout)
def _dropout(module: nn.Dropout, program: Program, reg: int) -> int:
    # SB3 predicts in eval mode, where dropout is the identity.
    return reg
