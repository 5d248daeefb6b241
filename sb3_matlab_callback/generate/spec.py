"""A bundle's program as the generator sees it: fixed sizes, params layout, fingerprint.

The generator reads a program from three sources: a :class:`~sb3_matlab_callback.translate.program.Program`
(at training start, before any bundle exists), a bundle dict (``build_bundle``) or a bundle
read back with ``load_bundle`` (which squeezes singleton dimensions). :func:`program_spec`
turns each into the same :class:`ProgramSpec`, re-deriving every array's shape from the
register sizes, so the three agree exactly, and so does :func:`architecture_fingerprint`.

Params layout (``sb3.params`` in MATLAB builds the same struct, see docs/simulink.md):
flat registers are ``1-by-d`` rows, images ``H-by-W-by-C``, and every array that training
changes is a ``single`` field of ``params``:

- input ``i`` with VecNormalize: ``in{i}_mean``, ``in{i}_var`` (``1-by-d``, or ``H-by-W-by-C``);
- op ``k`` (1-based over all ops; ops that only run when sampling have none):
  ``linear``: ``op{k}_weight``, ``(in+1)-by-out``: torch's weight transposed with the bias
  as its last row (see *Bias folding* below), ``(in+1)-by-(out+1)`` when the layer carries
  the unit; ``conv2d``: ``op{k}_weight`` (``(Cin*kh*kw)-by-Cout``, rows ordered
  channel, kernel row, kernel column), ``op{k}_bias``; ``prelu``: ``op{k}_weight``;
  ``batch_norm``: ``op{k}_mean``, ``op{k}_var``, ``op{k}_weight``, ``op{k}_bias``;
  ``layer_norm``: ``op{k}_weight``, ``op{k}_bias``; ``lstm`` layer ``j``:
  ``op{k}_l{j}_weight_ih`` (in-by-4H), ``op{k}_l{j}_weight_hh`` (H-by-4H),
  ``op{k}_l{j}_bias_ih``, ``op{k}_l{j}_bias_hh`` (``1-by-4H``).

Scalars (activation constants, ``eps``, ``clip_obs``, image ``scale``) and the action
bounds of ``unscale``/``clip`` are fixed for a run: they are written into the code, and
the fingerprint covers their values.

Bias folding: a linear layer computes ``[x, 1] * W`` with its bias as the last row of
``W``. When the layer's output (register ``r``) is read only by linear layers and by
activations that keep a trailing 1 as exactly 1 and NaN as NaN (:func:`keeps_unit`),
whose outputs are read likewise, the layer *carries the unit*: ``W`` gets one more column,
``[0 ... 0 1]'``, so ``r`` holds a trailing 1 and the next layer takes ``r * W`` with no
concatenation and no bias addition (docs/performance.md). :func:`unit_carriers` decides
this from the program alone; ``sb3.internal.unit_carriers`` in MATLAB applies the same
rule, so ``sb3.params`` builds the same sizes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Version of the fingerprint's canonical form; part of what is hashed.
FINGERPRINT_FORMAT = "sb3-matlab-architecture-2"
#: MATLAB's ``namelengthmax``.
MAX_NAME_LENGTH = 63
MATLAB_KEYWORDS = frozenset({
    "break", "case", "catch", "classdef", "continue", "else", "elseif", "end", "for",
    "function", "global", "if", "otherwise", "parfor", "persistent", "return", "spmd",
    "switch", "try", "while",
})


@dataclass(frozen=True)
class Shape:
    """A register's per-observation shape: ``(d,)`` for a flat register, ``(H, W, C)`` for an image."""

    dims: tuple[int, ...]

    @property
    def image(self) -> bool:
        """Whether this is an image register."""
        return len(self.dims) == 3

    @property
    def size(self) -> int:
        """The number of elements per observation."""
        return int(np.prod(self.dims))


@dataclass
class Param:
    """One field of ``params``: its name, MATLAB size and value (float64; cast to single)."""

    name: str
    size: tuple[int, ...]
    value: np.ndarray | None = None


@dataclass
class InputSpec:
    """One observation input (a Dict key, or the whole observation)."""

    index: int
    key: str
    field: str
    kind: str
    output: int
    shape: tuple[int, ...]
    scale: float = 1.0
    nvec: tuple[int, ...] = ()
    layout: str = "CHW"
    normalize: bool = False
    epsilon: float = 0.0
    clip_obs: float = 0.0
    params: list[Param] = field(default_factory=list)
    #: Only linear layers read the register: the observation is used as given (a row).
    direct: bool = False


@dataclass
class StackSpec:
    """One stacked observation of a ``VecFrameStack`` (a Dict key, or the whole observation).

    ``frame_shape`` is one frame as the env gives it and ``axis`` (1-based) the axis of it
    that frames are stacked along, as the bundle's ``frame_stack`` records them. With
    VecNormalize inside the stack, ``params`` holds ``fs{i}_mean`` and ``fs{i}_var``.
    """

    index: int
    key: str
    field: str
    frame_shape: tuple[int, ...]
    axis: int
    n_stack: int
    normalize: bool = False
    epsilon: float = 0.0
    clip_obs: float = 0.0
    params: list[Param] = field(default_factory=list)

    @property
    def dims(self) -> tuple[int, ...]:
        """One frame's MATLAB size: ``1-by-d`` for a vector frame, else ``frame_shape``."""
        return (1, *self.frame_shape) if len(self.frame_shape) == 1 else self.frame_shape

    @property
    def dim(self) -> int:
        """The MATLAB dimension (1-based) frames are stacked along."""
        return 2 if len(self.frame_shape) == 1 else self.axis

    @property
    def stacked_dims(self) -> tuple[int, ...]:
        """The stack's MATLAB size: :attr:`dims` with ``n_stack`` frames along :attr:`dim`."""
        dims = list(self.dims)
        dims[self.dim - 1] *= self.n_stack
        return tuple(dims)


@dataclass
class OpSpec:
    """One op with its input and output register shapes and its params."""

    index: int
    op: str
    mode: str
    inputs: tuple[int, ...]
    output: int
    in_shapes: tuple[Shape, ...]
    out_shape: Shape
    consts: dict[str, Any] = field(default_factory=dict)
    params: list[Param] = field(default_factory=list)
    #: The output holds one more element, a trailing 1 (see *Bias folding*).
    unit: bool = False


@dataclass
class ProgramSpec:
    """Everything the generated function depends on."""

    inputs: list[InputSpec]
    ops: list[OpSpec]
    output: int
    recurrent: dict[str, Any]
    shapes: dict[int, Shape]
    algorithm: str = ""
    origin: str = ""
    #: Inputs (by index) whose observation is a float Box: no cast to double needed.
    float_inputs: set[int] = field(default_factory=set)
    #: The ``VecFrameStack`` of the bundle, one item per stacked observation (empty: none).
    stacks: list[StackSpec] = field(default_factory=list)

    @property
    def maskable(self) -> bool:
        """Whether the program takes action masks (MaskablePPO)."""
        return any(o.op == "mask_logits" and o.mode != "stochastic" for o in self.ops)

    @property
    def lstm(self) -> tuple[int, int] | None:
        """``(num_layers, hidden_size)`` for a recurrent program, else ``None``."""
        if self.recurrent.get("kind", "none") != "lstm":
            return None
        return int(self.recurrent["num_layers"]), int(self.recurrent["hidden_size"])

    @property
    def is_dict(self) -> bool:
        """Whether the observation is a Dict (a struct in MATLAB)."""
        return any(i.key for i in self.inputs)

    def params(self) -> list[Param]:
        """Every field of ``params``: frame stack, inputs, ops, in program order."""
        found = [p for s in self.stacks for p in s.params] + [p for i in self.inputs for p in i.params]
        return found + [p for o in self.ops if o.mode != "stochastic" for p in o.params]


# --------------------------------------------------------------------------- names
def valid_field_name(key: str) -> str:
    """Return a Dict key as a MATLAB field name, by the contract's ``makeValidName`` rule."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", key)
    if not re.match(r"[A-Za-z]", name):
        name = "x" + name
    return name[:MAX_NAME_LENGTH]


def is_matlab_identifier(name: str) -> bool:
    """Whether ``name`` can name a MATLAB function or variable."""
    return (bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name)) and len(name) <= MAX_NAME_LENGTH
            and name not in MATLAB_KEYWORDS)


# --------------------------------------------------------------------------- reading
def _items(value: Any) -> list[Any]:
    """Return a MAT cell (list, object array, or one element loadmat unwrapped) as a list."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, np.ndarray):
        return list(value.ravel())
    return list(value)


def _ints(value: Any) -> tuple[int, ...]:
    return tuple(round(float(v)) for v in np.asarray(value, dtype=np.float64).ravel())


def _floats(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64).ravel()


def _scalar(value: Any) -> float:
    return float(np.asarray(value, dtype=np.float64).ravel()[0])


def _text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return "".join(str(v) for v in value.ravel())
    return str(value)


def program_spec(fields: dict[str, Any], algorithm: str = "", origin: str = "") -> ProgramSpec:
    """Build the spec from a bundle's (or ``program_fields``') ``inputs``, ``ops``, ``output``.

    :param fields: a bundle dict, as built or as read back by ``load_bundle``.
    :param algorithm: the algorithm, for the generated help text.
    :param origin: where the program came from, for the generated header.
    :raises UnsupportedError: for an op the generator does not know (naming it).
    """
    from .ops import OPS, check_op  # the op registry; imported here to avoid a cycle

    shapes: dict[int, Shape] = {}
    inputs = [_input_spec(index, raw, shapes) for index, raw in
              enumerate(_items(fields["inputs"]), start=1)]
    raws = _items(fields["ops"])
    steps = [Step(_text(raw["op"]), _text(raw.get("mode", "always")), _ints(raw["inputs"]),
                  int(_scalar(raw["output"])), raw) for raw in raws]
    for step in steps:
        check_op(step.op, step.mode)
    output = int(_scalar(fields["output"]))
    carriers = unit_carriers(steps, output)
    for item in inputs:
        readers, _ = _readers(steps, 0, item.output)
        item.direct = bool(readers) and all(steps[j].op == "linear" for j in readers)
    ops = []
    for index, step in enumerate(steps, start=1):
        # Registers that only sampling ops write have no shape here: those ops are skipped.
        in_shapes = tuple(shapes.get(r, Shape((0,))) for r in step.inputs)
        spec = OpSpec(index, step.op, step.mode, step.inputs, step.output, in_shapes,
                      in_shapes[0], unit=index - 1 in carriers)
        if step.mode != "stochastic":
            OPS[step.op].shape(spec, step.raw)
            shapes[spec.output] = spec.out_shape
        ops.append(spec)
    recurrent = fields.get("recurrent") or {"kind": "none"}
    recurrent = {k: (_text(v) if k == "kind" else _scalar(v)) for k, v in recurrent.items()}
    return ProgramSpec(inputs, ops, output, recurrent, shapes,
                       algorithm=algorithm, origin=origin,
                       stacks=stack_specs(fields.get("frame_stack")))


def stack_specs(raw: Any) -> list[StackSpec]:
    """Read the bundle's ``frame_stack`` variable (``None`` or ``n_stack = 0``: no stack)."""
    if not isinstance(raw, dict) or _scalar(raw.get("n_stack", 0.0)) <= 0:
        return []
    n_stack = int(_scalar(raw["n_stack"]))
    stacks = []
    for index, item in enumerate(_items(raw["inputs"]), start=1):
        key = _text(item.get("key", ""))
        spec = StackSpec(index, key, _text(item.get("field", "")) if key else "",
                         _ints(item["frame_shape"]), int(_scalar(item["axis"])), n_stack,
                         normalize=bool(_scalar(item.get("normalize", 0.0))))
        if spec.normalize:
            spec.epsilon = _scalar(item["epsilon"])
            spec.clip_obs = _scalar(item["clip_obs"])
            size = _matlab_size(spec.dims)
            for stat in ("mean", "var"):
                spec.params.append(Param(f"fs{index}_{stat}", size,
                                         _floats(item[stat]).reshape(size)))
        stacks.append(spec)
    return stacks


def _matlab_size(dims: tuple[int, ...]) -> tuple[int, ...]:
    """``size`` in MATLAB of an array of ``dims``: trailing singletons past the second dropped."""
    dims = tuple(dims)
    while len(dims) > 2 and dims[-1] == 1:
        dims = dims[:-1]
    return dims


@dataclass(frozen=True)
class Step:
    """One op of the bundle's program as stored: name, mode, registers and its struct."""

    op: str
    mode: str
    inputs: tuple[int, ...]
    output: int
    raw: Any


def keeps_unit(step: Step) -> bool:
    """Whether an activation maps 1 to exactly 1 and NaN to NaN, elementwise.

    ``relu`` (``x .* (x > 0)``) and ``hardshrink`` with ``lambd < 1`` (``x .* (abs(x) >
    lambd)``). Activations written with ``max``/``min`` (leaky_relu, elu, hardtanh, ...)
    map NaN to a number in MATLAB: a unit made NaN by an infinite input would silently
    become a wrong bias, so the unit is not carried through them.
    """
    if step.op == "relu":
        return True
    return step.op == "hardshrink" and _scalar(step.raw["lambd"]) < 1


def _readers(steps: list[Step], start: int, reg: int) -> tuple[list[int], bool]:
    """Positions (from ``start``) of the generated ops that read ``reg`` before it is written again.

    :return: those positions, and whether a generated op writes ``reg`` again.
    """
    readers = []
    for position in range(start, len(steps)):
        step = steps[position]
        if step.mode == "stochastic":
            continue
        if reg in step.inputs:
            readers.append(position)
        if step.output == reg:
            return readers, True
    return readers, False


def unit_carriers(steps: list[Step], output: int) -> set[int]:
    """Return the positions (0-based) of the ops whose output carries a trailing 1.

    A linear layer, or a unit-keeping activation (:func:`keeps_unit`), whose output is
    read (until written again) by at least one generated op, only by linear layers and
    by unit-keeping activations that carry it on, and is not the program's output.
    Decided from the last op backwards; ``sb3.internal.unit_carriers`` is the same rule.
    """
    carriers: set[int] = set()
    for position in range(len(steps) - 1, -1, -1):
        step = steps[position]
        if step.mode == "stochastic" or not (step.op == "linear" or keeps_unit(step)):
            continue
        readers, rewritten = _readers(steps, position + 1, step.output)
        if readers and (rewritten or step.output != output) and all(
                steps[j].op == "linear" or j in carriers for j in readers):
            carriers.add(position)
    return carriers


def _input_spec(index: int, raw: dict[str, Any], shapes: dict[int, Shape]) -> InputSpec:
    key = _text(raw.get("key", ""))
    kind = _text(raw["kind"])
    field_name = _text(raw["field"]) if "field" in raw else (valid_field_name(key) if key else "")
    shape = _ints(raw.get("shape", np.zeros(0)))
    spec = InputSpec(index, key, field_name, kind, int(_scalar(raw["output"])), shape,
                     scale=_scalar(raw.get("scale", 1.0)))
    if kind == "onehot":
        spec.nvec = _ints(raw["nvec"])
        reg = Shape((sum(spec.nvec),))
    elif kind == "image":
        channels, height, width = shape
        spec.layout = _text(raw.get("layout", "CHW"))
        reg = Shape((height, width, channels))
    elif kind == "box":
        reg = Shape((int(np.prod(shape)) if shape else 1,))
    else:
        from ..errors import unsupported

        raise unsupported("observation input kind", kind, ["box", "image", "onehot"])
    spec.normalize = bool(_scalar(raw.get("normalize", 0.0)))
    if spec.normalize:
        spec.epsilon = _scalar(raw["epsilon"])
        spec.clip_obs = _scalar(raw["clip_obs"])
        dims = reg.dims if kind == "image" else (1, int(np.prod(shape)) if shape else 1)
        for stat in ("mean", "var"):
            spec.params.append(Param(f"in{index}_{stat}", dims,
                                     _floats(raw[stat]).reshape(dims)))
    shapes[spec.output] = reg
    return spec


# --------------------------------------------------------------------------- fingerprint
def _canonical(value: Any) -> Any:
    """JSON-ready, exact: floats by ``repr``, arrays as lists."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_canonical(v) for v in value.ravel().tolist()]
    if isinstance(value, bool):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return value


def architecture(spec: ProgramSpec) -> dict[str, Any]:
    """Return what the fingerprint hashes: structure, sizes, classes, fixed constants; no weights."""
    inputs = [{"key": i.key, "field": i.field, "kind": i.kind, "output": i.output,
               "shape": i.shape, "scale": i.scale, "nvec": i.nvec, "layout": i.layout,
               "normalize": i.normalize, "epsilon": i.epsilon, "clip_obs": i.clip_obs}
              for i in spec.inputs]
    ops = []
    for o in spec.ops:
        entry: dict[str, Any] = {"op": o.op, "mode": o.mode, "inputs": o.inputs, "output": o.output}
        if o.mode != "stochastic":
            entry["consts"] = o.consts
            entry["shape"] = o.out_shape.dims
            entry["unit"] = o.unit
        ops.append(entry)
    params = [{"name": p.name, "size": p.size, "class": "single"} for p in spec.params()]
    found = {"format": FINGERPRINT_FORMAT, "inputs": inputs, "ops": ops, "output": spec.output,
             "recurrent": spec.recurrent, "params": params}
    if spec.stacks:  # absent without a stack: the fingerprints of unstacked runs stay as they were
        found["frame_stack"] = [{"key": s.key, "field": s.field, "frame_shape": s.frame_shape,
                                 "axis": s.axis, "n_stack": s.n_stack, "normalize": s.normalize,
                                 "epsilon": s.epsilon, "clip_obs": s.clip_obs}
                                for s in spec.stacks]
    return found


def architecture_fingerprint(spec: ProgramSpec) -> str:
    """SHA-256 (hex) of :func:`architecture`: equal for every version of one training run."""
    text = json.dumps(_canonical(architecture(spec)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
