"""Check a bundle read from disk: a file from outside is hostile until proven otherwise.

:func:`check_mat_variables` looks at a MAT file's variable list before anything is
decoded (classes, count); :func:`check_bundle` checks the decoded values: format and
version, the types and sizes of the top-level fields, and the program's structure (known
op names, register indices in range, modes). Every problem raises :class:`BundleError`
naming the file and the field. The MATLAB runtime applies the same rules
(``sb3.load_policy``, ``sb3:load_policy:corrupt``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BundleError

#: MAT classes a bundle may hold; anything else (function handles, objects) is refused.
MAT_CLASSES = frozenset({"double", "single", "char", "struct", "cell", "logical", "int8", "uint8",
                         "int16", "uint16", "int32", "uint32", "int64", "uint64"})
#: At most this many top-level variables (a bundle has about twenty).
MAX_VARIABLES = 256
#: At most this many registers in a program.
MAX_REGISTERS = 1_000_000
#: Every op the runtime knows (docs/bundle-format.md, "Ops").
KNOWN_OPS = frozenset({
    "linear", "relu", "tanh", "sigmoid", "elu", "celu", "selu", "leaky_relu", "prelu", "silu",
    "mish", "gelu", "gelu_tanh", "softplus", "softsign", "hardtanh", "hardsigmoid", "hardswish",
    "logsigmoid", "tanhshrink", "softshrink", "hardshrink", "threshold", "identity", "concat",
    "conv2d", "flatten", "batch_norm", "layer_norm", "mean", "lstm", "unscale", "clip", "argmax",
    "multi_argmax", "binary", "gaussian_sample", "sde_sample", "categorical_sample",
    "multi_categorical_sample", "bernoulli_sample", "mask_logits", "epsilon_greedy",
})
INPUT_KINDS = frozenset({"box", "onehot", "image"})
MODES = frozenset({"always", "deterministic", "stochastic"})
SPACE_TYPES = frozenset({"Box", "Discrete", "MultiDiscrete", "MultiBinary", "Dict"})


def check_mat_variables(path: Path, variables: list[tuple[str, tuple[int, ...], str]]) -> None:
    """Refuse a MAT file whose variable list cannot be a bundle (before decoding it).

    :param path: the file, named in errors.
    :param variables: ``scipy.io.whosmat``'s ``(name, shape, class)`` list.
    """
    if len(variables) > MAX_VARIABLES:
        raise _error(path, f"it holds {len(variables)} variables, more than {MAX_VARIABLES}")
    for name, _, mat_class in variables:
        if mat_class not in MAT_CLASSES:
            raise _error(path, f"variable {name!r} is of MATLAB class {mat_class!r}; a bundle "
                         "holds only numbers, logicals, chars, structs and cells")


def check_bundle(data: dict[str, Any], path: Path, format_name: str, format_version: int) -> None:
    """Check the decoded top-level fields and the program of a bundle.

    :param data: ``scipy.io.loadmat(..., simplify_cells=True)``'s result.
    :param path: the file, named in errors.
    :param format_name: the expected ``format``.
    :param format_version: the version this package reads.
    :raises BundleError: naming the file and the field.
    """
    if not isinstance(data.get("format"), str) or data["format"] != format_name:
        raise BundleError(f"File {str(path)!r} is a MAT file but not an sb3-matlab bundle.")
    version = data.get("format_version")
    if not _is_scalar_int(version) or int(version) != format_version:
        raise BundleError(f"Bundle {str(path)!r} has format_version {version!r}; this package "
                          f"reads version {format_version}.")
    for name in ("algorithm", "policy_class"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise _error(path, f"{name!r} must be non-empty text")
    _check_int(data, "version", path, low=1)
    _check_int(data, "num_timesteps", path, low=0)
    registers = _check_int(data, "num_registers", path, low=1, high=MAX_REGISTERS)
    _check_register(data.get("output"), registers, path, "'output'")
    for name in ("observation_space", "action_space"):
        _check_space(data.get(name), path, name)
    for index, item in enumerate(as_list(data.get("inputs"), path, "inputs"), 1):
        _check_input(item, index, registers, path)
    for index, item in enumerate(as_list(data.get("ops"), path, "ops"), 1):
        _check_op(item, index, registers, path)
    _check_reference(data.get("reference"), path)


def as_list(value: Any, path: Path, name: str) -> list[Any]:
    """Return a cell of structs as a list (scipy gives one struct for a 1x1 cell)."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return value
    if isinstance(value, np.ndarray) and value.size == 0:
        return []
    if isinstance(value, np.ndarray) and value.dtype == object:
        return list(value.ravel())
    raise _error(path, f"{name!r} must be a cell of structs, got {type(value).__name__}")


def _is_scalar_int(value: Any) -> bool:
    array = np.asarray(value) if not isinstance(value, (str, bytes, dict, list)) else None
    if array is None or array.size != 1 or array.dtype.kind not in "fiub":
        return False
    number = float(array.ravel()[0])
    return bool(np.isfinite(number)) and number == round(number)


def _check_int(data: dict[str, Any], name: str, path: Path, low: int,
               high: float = float("inf")) -> int:
    value = data.get(name)
    if not _is_scalar_int(value) or not low <= float(np.asarray(value).ravel()[0]) <= high:
        raise _error(path, f"{name!r} must be an integer from {low} to {high}, got {value!r}")
    return int(np.asarray(value).ravel()[0])


def _check_register(value: Any, registers: int, path: Path, what: str) -> None:
    array = np.atleast_1d(np.asarray(value)) if not isinstance(value, (str, dict, list)) else None
    if (array is None or array.dtype.kind not in "fiu" or not np.all(np.isfinite(array))
            or np.any(array != np.round(array)) or np.any(array < 1) or np.any(array > registers)):
        raise _error(path, f"{what} must hold register indices from 1 to {registers}, got {value!r}")


def _check_space(space: Any, path: Path, name: str) -> None:
    if not isinstance(space, dict) or space.get("type") not in SPACE_TYPES:
        raise _error(path, f"{name!r} must be a struct whose 'type' is one of "
                     f"{', '.join(sorted(SPACE_TYPES))}")


def _check_input(item: Any, index: int, registers: int, path: Path) -> None:
    if not isinstance(item, dict) or item.get("kind") not in INPUT_KINDS:
        raise _error(path, f"input {index} must be a struct whose 'kind' is one of "
                     f"{', '.join(sorted(INPUT_KINDS))}")
    key = item.get("key", "")
    if not (isinstance(key, str) or (isinstance(key, np.ndarray) and key.size == 0)):
        raise _error(path, f"input {index}: 'key' must be text")
    _check_register(item.get("output"), registers, path, f"input {index}'s 'output'")


def _check_op(item: Any, index: int, registers: int, path: Path) -> None:
    name = item.get("op") if isinstance(item, dict) else None
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,64}", name):
        raise _error(path, f"op {index} must be a struct with an 'op' name")
    if name not in KNOWN_OPS:
        raise _error(path, f"op {index} is {name!r}, which is not an op of the bundle format")
    if item.get("mode", "always") not in MODES:
        raise _error(path, f"op {index} ({name}): 'mode' must be one of {', '.join(sorted(MODES))}")
    inputs = item.get("inputs")
    if not (isinstance(inputs, np.ndarray) and inputs.size == 0):
        _check_register(inputs, registers, path, f"op {index} ({name})'s 'inputs'")
    _check_register(item.get("output"), registers, path, f"op {index} ({name})'s 'output'")


def _check_reference(reference: Any, path: Path) -> None:
    if not isinstance(reference, dict) or not {"observations", "actions"} <= set(reference):
        raise _error(path, "'reference' must be a struct with 'observations' and 'actions'")
    actions = np.asarray(reference["actions"])
    if actions.dtype.kind not in "fiub":
        raise _error(path, "'reference.actions' must be numeric")


def _error(path: Path, what: str) -> BundleError:
    return BundleError(f"Bundle {str(path)!r} is corrupt: {what}.")


__all__ = ["KNOWN_OPS", "as_list", "check_bundle", "check_mat_variables"]
