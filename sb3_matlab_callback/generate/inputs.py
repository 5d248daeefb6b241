"""Observation inputs: one observation, in its space's own shape, to a register.

As ``sb3.predict`` does for one observation: flatten in C order (a ``1-by-d`` row) or
keep an image ``H-by-W-by-C``, apply VecNormalize in double, one-hot encode
Discrete/MultiDiscrete indices, divide images by 255. Inputs stay ``double``; the first
op that needs ``single`` casts.
"""

from __future__ import annotations

from ..errors import UnsupportedError
from .code import Code, number, vector
from .spec import InputSpec


def source(spec: InputSpec) -> str:
    """Return the MATLAB expression of this input's observation: ``obs`` or ``obs.<field>``."""
    return f"obs.{spec.field}" if spec.key else "obs"


def describe(spec: InputSpec) -> str:
    """Return how one observation of this input looks, for help text and errors."""
    if spec.kind == "onehot":
        if not spec.shape:
            return f"an integer index in 0..{spec.nvec[0] - 1}"
        return f"a row of {len(spec.nvec)} integer indices (0..n-1, n = {vector(spec.nvec)})"
    if spec.kind == "image":
        channels, height, width = spec.shape
        if spec.layout == "HWC":
            return f"an image {height}-by-{width}-by-{channels} (height-by-width-by-channels)"
        return f"an array {channels}-by-{height}-by-{width} (channels-by-height-by-width)"
    if len(spec.shape) <= 1:
        size = spec.shape[0] if spec.shape else 1
        return f"a row vector of {size} element{'s' if size > 1 else ''}"
    return "an array " + "-by-".join(str(s) for s in spec.shape)


def emit_input(spec: InputSpec, code: Code, is_float: bool) -> None:
    """Write the statements that fill this input's register.

    :param is_float: the space's dtype is a float (the observation needs no cast).
    """
    code.comment(f"input {spec.index}{f' {spec.key!r}' if spec.key else ''}: {describe(spec)}")
    {"box": _box, "onehot": _onehot, "image": _image}[spec.kind](spec, code, is_float)
    code.double_regs.add(spec.output)


def _box(spec: InputSpec, code: Code, is_float: bool) -> None:
    out, obs = code.reg(spec.output), source(spec)
    if len(spec.shape) <= 1:
        # Read only by linear layers ([obs, 1] * W): a column fails there, so no reshape.
        value = obs if spec.direct and not spec.normalize and spec.scale == 1 else f"{obs}(:).'"
    else:
        order = " ".join(str(d) for d in range(len(spec.shape), 0, -1))
        value = f"reshape(permute({obs}, [{order}]), 1, {_size(spec)})"
    code.add(f"{out} = {value if is_float else f'double({value})'};")
    _normalize(spec, code)
    if spec.scale != 1:
        code.add(f"{out} = {out} / {number(spec.scale)};")


def _size(spec: InputSpec) -> int:
    size = 1
    for s in spec.shape:
        size *= s
    return size


def _onehot(spec: InputSpec, code: Code, is_float: bool) -> None:
    if spec.normalize:
        raise UnsupportedError(f"Input {spec.key!r}: VecNormalize statistics on a Discrete or "
                               "MultiDiscrete observation (SB3 normalizes Box observations only).")
    out, index = code.reg(spec.output), f"v{spec.index}"  # the indices, as a row
    nvec = vector(spec.nvec)
    offsets = [sum(spec.nvec[:j]) for j in range(len(spec.nvec))]
    name = spec.key or "obs"
    code.add(f"{index} = double({source(spec)}(:).');",
             f"if numel({index}) ~= {len(spec.nvec)} || any({index} < 0 | {index} >= {nvec} | "
             f"{index} ~= floor({index}))",
             "  error('sb3:generated:badObsValue', ...",
             f"        'Observation %s must be {describe(spec)}.', '{name}');",
             "end",
             f"{out} = zeros(1, {sum(spec.nvec)});",
             f"{out}({index} + {vector(offsets)} + 1) = 1;")


def _image(spec: InputSpec, code: Code, is_float: bool) -> None:
    channels, height, width = spec.shape
    first, second, third = (height, width, channels) if spec.layout == "HWC" else spec.shape
    obs, out = source(spec), code.reg(spec.output)
    if spec.key:  # a short local name keeps the lines short
        code.add(f"o{spec.index} = {obs};")
        obs = f"o{spec.index}"
    name = spec.key or "obs"
    code.add(f"if size({obs}, 1) ~= {first} || size({obs}, 2) ~= {second} || "
             f"size({obs}, 3) ~= {third} || ndims({obs}) > 3",
             "  error('sb3:generated:badObsSize', ...",
             f"        'Observation %s must be {describe(spec)}.', '{name}');",
             "end")
    value = f"double({obs})" if spec.layout == "HWC" else f"double(permute({obs}, [2 3 1]))"
    code.add(f"{out} = {value};")
    _normalize(spec, code)
    if spec.scale != 1:
        code.add(f"{out} = {out} / {number(spec.scale)};")


def _normalize(spec: InputSpec, code: Code) -> None:
    """VecNormalize's normalize_obs, in double as the runtime does."""
    if not spec.normalize:
        return
    out = code.reg(spec.output)
    mean, var = (code.param(p.name) for p in spec.params)
    clip = number(spec.clip_obs)
    code.add(f"{out} = ({out} - double({mean})) ./ sqrt(double({var}) + "
             f"{number(spec.epsilon)});",
             f"{out} = min(max({out}, -{clip}), {clip});")
