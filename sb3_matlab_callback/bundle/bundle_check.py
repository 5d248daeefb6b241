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

from ..errors import BundleError

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
#: Ops that sample, mask or explore: a critic computes values and never holds them.
NON_CRITIC_OPS = frozenset({"gaussian_sample", "sde_sample", "categorical_sample",
                            "multi_categorical_sample", "bernoulli_sample", "mask_logits",
                            "epsilon_greedy"})
CRITIC_KINDS = frozenset({"none", "value", "q_continuous", "q_discrete"})
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
    inputs = as_list(data.get("inputs"), path, "inputs")
    for index, item in enumerate(inputs, 1):
        _check_input(item, index, registers, path)
    for index, item in enumerate(as_list(data.get("ops"), path, "ops"), 1):
        _check_op(item, index, registers, path)
    _check_reference(data.get("reference"), path)
    if "frame_stack" in data:
        check_frame_stack(data["frame_stack"], inputs, data["reference"], path)
    if "critic" in data:
        check_critic(data["critic"], registers, inputs, data["reference"], path)


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


def _check_op(item: Any, index: int, registers: int, path: Path, what: str = "op") -> str:
    """Check one op's name, mode and registers; return its name.

    :param what: how errors name the op list: ``"op"``, or ``"critic op"``.
    """
    name = item.get("op") if isinstance(item, dict) else None
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,64}", name):
        raise _error(path, f"{what} {index} must be a struct with an 'op' name")
    if name not in KNOWN_OPS:
        raise _error(path, f"{what} {index} is {name!r}, which is not an op of the bundle format")
    if item.get("mode", "always") not in MODES:
        raise _error(path, f"{what} {index} ({name}): 'mode' must be one of "
                     f"{', '.join(sorted(MODES))}")
    inputs = item.get("inputs")
    if not (isinstance(inputs, np.ndarray) and inputs.size == 0):
        _check_register(inputs, registers, path, f"{what} {index} ({name})'s 'inputs'")
    _check_register(item.get("output"), registers, path, f"{what} {index} ({name})'s 'output'")
    return name


def _check_reference(reference: Any, path: Path) -> None:
    if not isinstance(reference, dict) or not {"observations", "actions"} <= set(reference):
        raise _error(path, "'reference' must be a struct with 'observations' and 'actions'")
    actions = np.asarray(reference["actions"])
    if actions.dtype.kind not in "fiub":
        raise _error(path, "'reference.actions' must be numeric")


# --------------------------------------------------------------------------- critic
def check_critic(critic: Any, registers: int, inputs: list[Any], reference: dict[str, Any],
                 path: Path) -> None:
    """Check the bundle's ``critic`` variable (the value side), as ``sb3.load_policy`` does.

    A critic op reads only registers an observation input, the action (``'q_continuous'``)
    or an earlier critic op has written; its name is a known op that neither samples, masks
    nor explores; its mode is ``'always'``.

    :param critic: the decoded ``critic`` variable.
    :param registers: ``num_registers``.
    :param inputs: the checked observation inputs.
    :param reference: the checked ``reference``, whose ``critic`` values must fit.
    :raises BundleError: naming the critic field or op.
    """
    if not isinstance(critic, dict) or critic.get("kind") not in CRITIC_KINDS:
        raise _error(path, "'critic' must be a struct whose 'kind' is one of "
                     f"{', '.join(sorted(CRITIC_KINDS))}")
    kind = critic["kind"]
    if kind == "none":
        return
    missing = [name for name in ("ops", "output", "n_critics") if name not in critic]
    if missing:
        raise _error(path, f"'critic' lacks {', '.join(missing)}")
    _check_register(critic["output"], registers, path, "critic 'output'")
    n_critics = _int_field(critic["n_critics"], "critic 'n_critics'", path, low=1)
    if kind == "value" and n_critics != 1:
        raise _error(path, "critic 'n_critics' must be 1 for a value function")
    recurrent = critic.get("recurrent", {"kind": "none"})
    if not isinstance(recurrent, dict) or recurrent.get("kind") not in ("none", "lstm"):
        raise _error(path, "critic 'recurrent' must be a struct whose 'kind' is none or lstm")
    if (kind == "q_continuous") != ("action" in critic):
        raise _error(path, "critic 'action' is required for kind 'q_continuous', and only there")
    written = {int(np.asarray(item["output"]).ravel()[0]) for item in inputs}
    if "action" in critic:
        written.add(_check_action(critic["action"], registers, written, path))
    lstm_ops = _check_critic_ops(as_list(critic["ops"], path, "critic.ops"), registers, written, path)
    if lstm_ops > 1 or (lstm_ops == 1) != (recurrent["kind"] == "lstm"):
        raise _error(path, "a critic has at most one lstm op, and then its 'recurrent' says lstm")
    if int(np.asarray(critic["output"]).ravel()[0]) not in written:
        raise _error(path, "critic 'output' is a register no critic op writes")
    _check_critic_reference(reference, critic, n_critics, path)


def _check_critic_ops(ops: list[Any], registers: int, written: set[int], path: Path) -> int:
    """Check each critic op, adding the registers it writes to ``written``; count lstm ops."""
    if not ops:
        raise _error(path, "critic 'ops' must be a non-empty cell of structs")
    lstm_ops = 0
    for index, item in enumerate(ops, 1):
        name = _check_op(item, index, registers, path, "critic op")
        if item.get("mode", "always") != "always":
            raise _error(path, f"critic op {index} ({name}): 'mode' must be 'always'")
        if name in NON_CRITIC_OPS:
            raise _error(path, f"critic op {index} is {name!r}: a critic never samples, masks "
                         "or explores")
        reads = [int(r) for r in np.atleast_1d(np.asarray(item.get("inputs"), dtype=float)).ravel()]
        unset = [r for r in reads if r not in written]
        if not reads or unset:
            raise _error(path, f"critic op {index} ({name}) reads register "
                         f"{unset[0] if unset else '(none)'}, which neither an observation "
                         "input, the action nor an earlier critic op writes")
        lstm_ops += name == "lstm"
        written.add(int(np.asarray(item["output"]).ravel()[0]))
    return lstm_ops


def _check_action(action: Any, registers: int, written: set[int], path: Path) -> int:
    """Check a continuous critic's ``action`` and return its register."""
    names = ("register", "dim", "scale", "low", "high")
    if not isinstance(action, dict) or not set(names) <= set(action):
        raise _error(path, f"critic 'action' must be a struct with {', '.join(names)}")
    register = _int_field(action["register"], "critic 'action.register'", path, low=1,
                          high=registers)
    if register in written:
        raise _error(path, f"critic 'action.register' {register} is filled by an observation input")
    dim = _int_field(action["dim"], "critic 'action.dim'", path, low=1)
    scale = np.asarray(action["scale"]) if not isinstance(action["scale"], (str, dict, list)) else None
    if scale is None or scale.size != 1 or scale.dtype.kind not in "fiub" or np.isnan(scale).any():
        raise _error(path, "critic 'action.scale' must be one number")
    for bound in ("low", "high"):
        value = action[bound]
        array = np.asarray(value) if not isinstance(value, (str, dict, list)) else None
        if array is None or array.dtype.kind not in "fiub" or array.size != dim:
            raise _error(path, f"critic 'action.{bound}' must hold {dim} numbers (action.dim)")
    return register


def _check_critic_reference(reference: dict[str, Any], critic: dict[str, Any], n_critics: int,
                            path: Path) -> None:
    actions = np.asarray(reference["actions"])
    if critic["kind"] == "q_continuous":
        dim = int(np.asarray(critic["action"]["dim"]).ravel()[0])
        if actions.size % dim or (actions.ndim == 2 and actions.shape[1] != dim):
            raise _error(path, f"'reference.actions' must have {dim} columns (critic action.dim)")
    if "critic" not in reference:
        return
    values = reference["critic"]
    if not isinstance(values, dict) or not {"values", "atol"} <= set(values):
        raise _error(path, "'reference.critic' must be a struct with 'values' and 'atol'")
    array = np.asarray(values["values"]) if not isinstance(values["values"], (str, dict, list)) else None
    if array is None or array.dtype.kind not in "fiub" or array.size not in {
            n * n_critics for n in _row_counts(actions)}:
        raise _error(path, f"'reference.critic.values' must hold one row of {n_critics} numbers "
                     "per reference action")
    atol = values["atol"]
    if isinstance(atol, (str, dict, list)) or np.size(atol) != 1 or np.asarray(atol).dtype.kind not in "fiub":
        raise _error(path, "'reference.critic.atol' must be one number")


def _row_counts(array: np.ndarray) -> set[int]:
    """Return the row counts ``array`` may have had before ``simplify_cells`` squeezed it."""
    if array.ndim == 0:
        return {1}
    if array.ndim == 1:
        return {1, array.shape[0]}
    return {array.shape[0]}


# --------------------------------------------------------------------------- frame stack
def check_frame_stack(frame_stack: Any, inputs: list[Any], reference: dict[str, Any],
                      path: Path) -> None:
    """Check the bundle's ``frame_stack`` and its reference sequence, as ``sb3.load_policy`` does.

    :param frame_stack: the decoded ``frame_stack`` variable.
    :param inputs: the checked observation inputs, one per stacked observation.
    :param reference: the checked ``reference``: ``episode_starts`` and single frames.
    :raises BundleError: naming the field (``frame_stack input I`` for a stacked observation).
    """
    if not isinstance(frame_stack, dict) or not {"n_stack", "inputs"} <= set(frame_stack):
        raise _error(path, "'frame_stack' must be a struct with 'n_stack' and 'inputs'")
    n_stack = _int_field(frame_stack["n_stack"], "frame_stack 'n_stack'", path, low=0)
    items = as_list(frame_stack["inputs"], path, "frame_stack.inputs")
    if n_stack == 0:
        if items:
            raise _error(path, "frame_stack 'n_stack' is 0 (no stack), yet 'inputs' lists "
                         "stacked observations")
        return
    if len(items) != len(inputs):
        raise _error(path, f"frame_stack 'inputs' must hold {len(inputs)} structs, one per "
                     "observation input")
    keys = [_check_frame_input(item, index, n_stack, inputs, path)
            for index, item in enumerate(items, 1)]
    if len(set(keys)) != len(keys) or ("" in keys and len(keys) > 1):
        raise _error(path, "frame_stack 'inputs' must stack a plain observation once, or each "
                     "Dict key once")
    _check_sequence(reference, items, path)


def _check_frame_input(item: Any, index: int, n_stack: int, inputs: list[Any], path: Path) -> str:
    """Check one stacked observation against the input it feeds; return its key."""
    what = f"frame_stack input {index}"
    names = ("key", "field", "frame_shape", "axis", "normalize")
    if not isinstance(item, dict) or not set(names) <= set(item) or _text(item["key"]) is None:
        raise _error(path, f"{what} must be a struct with {', '.join(names)}")
    key = _text(item["key"])
    shape = _shape(item["frame_shape"])
    if not shape:
        raise _error(path, f"{what}: 'frame_shape' must be positive integers")
    axis = _int_field(item["axis"], f"{what}'s 'axis'", path, low=1, high=len(shape))
    stacked = list(shape)
    stacked[axis - 1] *= n_stack
    target = [i for i in inputs if (_text(i.get("key", "")) or "") == key]
    if len(target) != 1 or target[0]["kind"] not in ("box", "image"):
        raise _error(path, f"{what}: key {key!r} must name one Box or image observation input")
    field = _text(target[0].get("field", "")) or key
    if key and _text(item["field"]) != field:
        raise _error(path, f"{what}: 'field' must be {field!r}, the struct field of key {key!r}")
    takes = _shape(target[0].get("shape")) or ()
    if target[0]["kind"] == "image" and len(takes) == 3:
        fits = tuple(stacked) in (takes, (takes[1], takes[2], takes[0]))
    else:
        fits = tuple(stacked) == takes
    if not fits:
        raise _error(path, f"{what}: {n_stack} frames of shape {shape} stacked along axis {axis} "
                     f"give {tuple(stacked)}, but the observation input takes {takes}")
    _check_frame_stats(item, int(np.prod(shape)), what, path)
    return key


def _check_frame_stats(item: dict[str, Any], size: int, what: str, path: Path) -> None:
    normalize = item["normalize"]
    if not _is_scalar_int(normalize) or float(np.asarray(normalize).ravel()[0]) not in (0.0, 1.0):
        raise _error(path, f"{what}: 'normalize' must be 0 or 1")
    if not float(np.asarray(normalize).ravel()[0]):
        return
    for name, count in (("mean", size), ("var", size), ("epsilon", 1), ("clip_obs", 1)):
        value = item.get(name)
        array = np.asarray(value) if isinstance(value, (np.ndarray, float, int)) else None
        if array is None or array.dtype.kind not in "fiu" or array.size != count:
            raise _error(path, f"{what}: '{name}' must hold {count} number(s)")


def _check_sequence(reference: dict[str, Any], items: list[dict[str, Any]], path: Path) -> None:
    """Check a stacked reference: ``episode_starts`` (zeros and ones), as many frames."""
    starts = reference.get("episode_starts")
    array = np.asarray(starts) if isinstance(starts, (np.ndarray, float, int)) else None
    if (array is None or array.size == 0 or array.dtype.kind not in "fiub"
            or not np.all((array == 0) | (array == 1))):
        raise _error(path, "'reference.episode_starts' must be zeros and ones, one per step of "
                     "the stacked reference")
    steps = array.size
    if steps not in _row_counts(np.asarray(reference["actions"])):
        raise _error(path, f"'reference.actions' must have one row per step ({steps})")
    observations = reference["observations"]
    for item in items:
        key = _text(item["key"])
        frames = observations.get(_text(item["field"])) if key and isinstance(observations, dict) \
            else observations
        array = np.asarray(frames) if isinstance(frames, (np.ndarray, float, int)) else None
        if array is None or array.dtype.kind not in "fiub" or array.size != steps * int(
                np.prod(_shape(item["frame_shape"]))):
            raise _error(path, f"'reference.observations' {key!r} must be {steps} frames of shape "
                         f"{_shape(item['frame_shape'])}")


def _text(value: Any) -> str | None:
    """Return text as scipy decodes it (an empty char is an empty array), else ``None``."""
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.size == 0:
        return ""
    return None


def _shape(value: Any) -> tuple[int, ...] | None:
    """Return a shape row (scipy squeezes a 1x1 to a scalar) as positive ints, else ``None``."""
    if isinstance(value, (str, dict, list)) or value is None:
        return None
    array = np.atleast_1d(np.asarray(value))
    if (array.dtype.kind not in "fiu" or array.ndim != 1 or array.size > 8
            or not np.all(np.isfinite(array)) or np.any(array < 1) or np.any(array > 2**31)
            or np.any(array != np.round(array))):
        return None
    return tuple(int(v) for v in array)


def _int_field(value: Any, what: str, path: Path, low: int, high: float = 2**31) -> int:
    if not _is_scalar_int(value) or not low <= float(np.asarray(value).ravel()[0]) <= high:
        raise _error(path, f"{what} must be an integer from {low} to {high}, got {value!r}")
    return int(np.asarray(value).ravel()[0])


def _error(path: Path, what: str) -> BundleError:
    return BundleError(f"Bundle {str(path)!r} is corrupt: {what}.")


__all__ = ["KNOWN_OPS", "as_list", "check_bundle", "check_critic", "check_frame_stack",
           "check_mat_variables"]
