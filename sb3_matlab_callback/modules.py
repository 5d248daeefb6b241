"""Translate ``torch.nn`` modules into program ops.

Lookup is by exact class: a subclass may override ``forward``, so it is never
assumed to behave like its parent. Extend with :func:`register_module`.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from .activations import ACTIVATIONS
from .errors import unsupported
from .program import Program

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


def translate(module: nn.Module, program: Program, reg: int) -> int:
    """Append the ops computing ``module(R{reg})`` and return the result register.

    :raises UnsupportedError: naming the module class when it has no translation.
    """
    cls = type(module)
    if cls in _MODULES:
        return _MODULES[cls](module, program, reg)
    if cls in ACTIVATIONS:
        op, params = ACTIVATIONS[cls](module)
        return program.add(op, reg, **params)
    raise unsupported("policy module", cls.__name__, supported_modules(), REGISTER_HINT)


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
    bias = module.bias if module.bias is not None else module.weight.new_zeros(module.out_features)
    return program.add("linear", reg, weight=module.weight, bias=bias.reshape(1, -1))


@register_module(nn.Identity)
def _identity(module: nn.Identity, program: Program, reg: int) -> int:
    return reg


@register_module(nn.Flatten)
def _flatten(module: nn.Flatten, program: Program, reg: int) -> int:
    # Registers are already N x d, flattened in C order by their input spec.
    return reg


@register_module(nn.Dropout)
def _dropout(module: nn.Dropout, program: Program, reg: int) -> int:
    # SB3 predicts in eval mode, where dropout is the identity.
    return reg
