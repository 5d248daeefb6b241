"""``generate_matlab_function``: a bundle's program as one ``%#codegen`` MATLAB function.

The function computes the deterministic action for one observation with straight-line
numeric code: every size fixed when it is generated, the weights passed in as
``params`` (``sb3.params(policy)`` in MATLAB), so one file serves every version of a
training run with the same architecture fingerprint. No ``eval``, ``load``, cell arrays,
function handles, ``try``, dynamic field names or ``jsondecode``: what MATLAB Coder and
Simulink's MATLAB Function block accept.
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import BundleError
from ..translate.program import Program
from .code import Code
from .fuse import inline_once, relu_in_place, reuse_registers
from .heads import fused_squashes
from .inputs import describe, emit_input
from .ops import OPS
from .spec import ProgramSpec, architecture_fingerprint, is_matlab_identifier, program_spec
from .stack import describe_frame, emit_stack, size_text, size_vector

LINE_LENGTH = 100
DEFAULT_NAME = "policy_predict"
_VERSION_SUFFIX = re.compile(r"_v\d{6,}$")

BundleSource = str | os.PathLike | dict | Program


# --------------------------------------------------------------------------- reading
def load_program_spec(bundle: BundleSource, *, observation_space: dict[str, Any] | None = None,
                      algorithm: str = "", frame_stack: dict[str, Any] | None = None) -> ProgramSpec:
    """Read the program of ``bundle``: a ``.mat`` path, a bundle dict or a ``Program``.

    :param bundle: the source of the program.
    :param observation_space: the space description (``describe_space``) when ``bundle``
        is a ``Program``; it tells which Box inputs are float (no cast needed).
    :param algorithm: the algorithm's name when ``bundle`` is a ``Program``.
    :param frame_stack: the bundle variable ``frame_stack`` (``frame_stack_field``) when
        ``bundle`` is a ``Program`` whose env stacks frames.
    :raises BundleError: a bundle whose recorded fingerprint does not match its program.
    """
    if isinstance(bundle, Program):
        from ..bundle.bundle import program_fields

        fields: dict[str, Any] = {**program_fields(bundle), "algorithm": algorithm,
                                  "observation_space": observation_space,
                                  "frame_stack": frame_stack}
        origin = "the program built at training start"
    elif isinstance(bundle, dict):
        fields, origin = bundle, "a bundle"
    else:
        from ..bundle.bundle import load_bundle

        fields, origin = load_bundle(bundle), Path(bundle).name
    spec = program_spec(fields, algorithm=str(fields.get("algorithm") or algorithm),
                        origin=origin)
    spec.float_inputs = _float_inputs(spec, fields.get("observation_space"))
    recorded = fields.get("fingerprint")
    if isinstance(recorded, str) and recorded and recorded != architecture_fingerprint(spec):
        raise BundleError(
            f"{origin} records the architecture fingerprint {recorded}, but its program hashes "
            f"to {architecture_fingerprint(spec)}: it was written by another version of "
            "sb3-matlab-callback. Export it again with this version.")
    return spec


def _float_inputs(spec: ProgramSpec, space: dict[str, Any] | None) -> set[int]:
    """Return the indices of the inputs whose Box space has a float dtype (no cast needed)."""
    found = set()
    for item in spec.inputs:
        sub = space
        if item.key and isinstance(space, dict):
            sub = (space.get("spaces") or {}).get(item.key)
        if isinstance(sub, dict) and sub.get("type") == "Box" and \
                str(sub.get("dtype", "")).startswith("float"):
            found.add(item.index)
    return found


# --------------------------------------------------------------------------- names
def function_name(prefix: str) -> str:
    """Return the generated function's name for a run's ``name_prefix``: ``{prefix}_predict``.

    Characters MATLAB does not allow in a name become ``_``; a name that does not start
    with a letter gets the prefix ``x`` (as ``matlab.lang.makeValidName``).
    """
    name = re.sub(r"[^A-Za-z0-9_]", "_", f"{prefix}_predict")
    if not re.match(r"[A-Za-z]", name):
        name = "x" + name
    if len(name) > 63:
        raise ValueError(f"The function name {name!r} is longer than MATLAB's 63 characters; "
                         "pass a shorter name.")
    return name


def default_name(bundle: BundleSource) -> str:
    """Return ``NAME`` for a bundle: its file's name prefix (before ``_v000001``) + ``_predict``."""
    if isinstance(bundle, Program | dict):
        return DEFAULT_NAME
    return function_name(_VERSION_SUFFIX.sub("", Path(bundle).stem))


# --------------------------------------------------------------------------- rendering
def render_matlab_function(spec: ProgramSpec, name: str) -> str:
    """Return the source of the function ``name`` computing ``spec``'s deterministic action.

    :raises ValueError: ``name`` is not a valid MATLAB function name.
    """
    if not is_matlab_identifier(name):
        raise ValueError(f"{name!r} is not a valid MATLAB function name: letters, digits and "
                         "'_', starting with a letter, at most 63 characters, not a keyword.")
    code = Code(spec)
    args, outputs = _signature(spec)
    if spec.maskable:
        code.mask_argument = len(args) + 1
        args.append("action_masks")
    for stack in spec.stacks:
        emit_stack(stack, code)
    if spec.stacks:
        code.add("obs = stack;")
    for item in spec.inputs:
        emit_input(item, code, item.index in spec.float_inputs)
    kinds = {}  # register -> (double?, shape, carries a unit?): which may share a variable
    squashes = fused_squashes(spec)
    for op in spec.ops:
        if op.mode == "stochastic":
            continue
        code.comment(_op_comment(op))
        if op.index in squashes:  # the unscale that reads it computes it (heads.py)
            code.squashed[op.output] = squashes[op.index]
            continue
        code.unit_regs.discard(op.output)
        OPS[op.op].emit(op, code)
        kinds[op.output] = (op.output in code.double_regs, op.out_shape.dims,
                            op.output in code.unit_regs)
    _emit_action(spec, code)
    signature = f"function {outputs} = {name}({', '.join(args)})"
    body = reuse_registers(inline_once(relu_in_place(code.lines, kinds), LINE_LENGTH), kinds)
    return "\n".join([signature, *_help(spec, name, args, outputs), "", "%#codegen", *body,
                      "end", ""])


#: Actions up to this many elements start from a literal row of zeros (Octave folds it).
LITERAL_ACTION = 8


def _emit_action(spec: ProgramSpec, code: Code) -> None:
    """Assign the program's output to ``action``, as double.

    A single result is assigned into a double row (``action(:) = ...`` keeps the row's
    class), which costs Octave about 0.3 us less than the ``double(...)`` call it replaces.
    """
    result = code.reg(spec.output)
    if spec.output in code.double_regs:
        code.add(f"action = {result};")
        return
    size = spec.shapes[spec.output].size
    row = "0" if size == 1 else (f"[{' '.join(['0'] * size)}]" if size <= LITERAL_ACTION
                                 else f"zeros(1, {size})")
    # First, so the result's statement can fold into the assignment (fuse.inline_once).
    code.lines[:0] = ["% the action: a double row, which the assignment at the end converts into",
                      f"action = {row};"]
    code.add(f"action(:) = {result};")


def _signature(spec: ProgramSpec) -> tuple[list[str], str]:
    """Return the arguments (before ``action_masks``) and the outputs of the function.

    ``[action, h, c, stack] = NAME(frame, params, h, c, stack, episode_start)``: the
    recurrent state first, then the frame stack, then ``episode_start``, which resets both.
    """
    args, outputs = ["frame" if spec.stacks else "obs", "params"], ["action"]
    if spec.lstm:
        args += ["h", "c"]
        outputs += ["h", "c"]
    if spec.stacks:
        args.append("stack")
        outputs.append("stack")
    if spec.lstm or spec.stacks:
        args.append("episode_start")
    return args, outputs[0] if len(outputs) == 1 else f"[{', '.join(outputs)}]"


def _op_comment(op: Any) -> str:
    sizes = " -> ".join("x".join(str(d) for d in s.dims) for s in (op.in_shapes[0], op.out_shape))
    return f"op {op.index}: {op.op} ({sizes})"


def _wrap(text: str, indent: str = "%   ") -> list[str]:
    return textwrap.wrap(text, LINE_LENGTH - 2, initial_indent=indent, subsequent_indent=indent,
                         break_on_hyphens=False)


def _help(spec: ProgramSpec, name: str, args: list[str], outputs: str) -> list[str]:
    upper = name.upper()
    policy = f"an {spec.algorithm}" if spec.algorithm[:1] in "AEIOU" and spec.algorithm else \
        f"a {spec.algorithm or 'SB3'}"
    call = f"{outputs.upper()} = {upper}({', '.join(a.upper() for a in args)})"
    lines = [f"%{upper} Deterministic action of {policy} policy for one observation "
             "(generated)."]
    lines += _wrap(f"{call} returns the action SB3's model.predict(obs, deterministic=True) "
                   f"gives for one observation, as sb3.predict returns it: {_action_text(spec)}.")
    if spec.stacks:
        lines += _wrap(_stack_help(spec))
    else:
        lines += _wrap(f"OBS is {_obs_text(spec)}.")
    lines += _wrap("PARAMS holds the weights as single arrays: PARAMS = sb3.params(POLICY), for "
                   "any version of the training run whose fingerprint (below) matches.")
    if spec.lstm:
        layers, hidden = spec.lstm
        lines += _wrap(f"H and C are the actor LSTM's state, each {layers}-by-{hidden} "
                       "(num_layers-by-hidden_size): start from zeros and pass back what the "
                       "last call returned; EPISODE_START true resets them first, as in SB3.")
    if spec.maskable:
        size = next(o.in_shapes[0].size for o in spec.ops if o.op == "mask_logits")
        lines += _wrap(f"ACTION_MASKS is a logical row of {size} elements, one per choice "
                       "(MaskablePPO): false excludes that choice. Without it, no choice is "
                       "excluded.")
    lines += ["%"]
    lines += _wrap("Straight-line code for MATLAB Coder and Simulink MATLAB Function blocks: "
                   f"fixed sizes, no weights inside. Generated by sb3-matlab-callback "
                   f"{__version__} from {spec.origin}; do not edit, generate it again.")
    example_call = f"{outputs} = {name}({', '.join(args)});"
    lines += ["%", "%   Usage:", f"%     {outputs} = {name}({', '.join(args)})", "%",
              "%   Example:",
              "%     policy = sb3.load_policy(sb3.latest('exports/run1'));",
              "%     params = sb3.params(policy);"]
    if spec.lstm:
        layers, hidden = spec.lstm
        lines += [f"%     h = zeros({layers}, {hidden});", f"%     c = zeros({layers}, {hidden});",
                  "%     episode_start = true;"]
    if spec.stacks:
        lines += [f"%     stack = {_stack_zeros(spec)};"]
        if not spec.lstm:
            lines += ["%     episode_start = true;"]
        lines += [f"%     frame = {_frame_zeros(spec)};"]
    lines += [f"%     {example_call}", "%",
              f"%   Architecture fingerprint: {architecture_fingerprint(spec)}", "%",
              "%   PARAMS fields (single):"]
    fields = ", ".join(f"{p.name} {'x'.join(str(s) for s in p.size)}" for p in spec.params())
    lines += _wrap(fields or "none", indent="%     ")
    lines += ["%", "%   See also sb3.params, sb3.load_policy, sb3.poll, sb3.predict."]
    return lines


def _stack_help(spec: ProgramSpec) -> str:
    """Return the help text of FRAME, STACK and EPISODE_START (a VecFrameStack bundle)."""
    stacks = spec.stacks
    n_stack = stacks[0].n_stack
    if spec.is_dict:
        frame = "a struct with the fields " + "; ".join(
            f"{s.field}: {describe_frame(s)}" for s in stacks)
        stack = "a struct with the same fields, each " + "; ".join(
            f"{s.field}: {size_text(s.stacked_dims)}" for s in stacks)
    else:
        frame, stack = describe_frame(stacks[0]), size_text(stacks[0].stacked_dims)
    inside = [s.field or "the frame" for s in stacks if s.normalize]
    normalize = (" VecNormalize sits inside the stack: the stack holds normalized frames."
                 if inside else "")
    return (f"FRAME is one frame as the unwrapped env gives it: {frame}. STACK (double) is "
            f"the last {n_stack} frames as the policy sees them (VecFrameStack): {stack}, the "
            "oldest first along the stack axis, as sb3.predict keeps it in state.stack for one "
            f"row, without the leading 1.{normalize} Start from zeros and pass back what the "
            "last call returned; EPISODE_START true zero-fills it before the frame goes in "
            "last, as VecFrameStack does at an episode's start.")


def _stack_zeros(spec: ProgramSpec) -> str:
    if not spec.is_dict:
        return f"zeros({size_vector(spec.stacks[0].stacked_dims)})"
    return "struct(" + ", ".join(f"'{s.field}', zeros({size_vector(s.stacked_dims)})"
                                 for s in spec.stacks) + ")"


def _frame_zeros(spec: ProgramSpec) -> str:
    if not spec.is_dict:
        return f"zeros({size_vector(spec.stacks[0].dims)})"
    return "struct(" + ", ".join(f"'{s.field}', zeros({size_vector(s.dims)})"
                                 for s in spec.stacks) + ")"


def _obs_text(spec: ProgramSpec) -> str:
    if spec.is_dict:
        return "a struct with the fields " + "; ".join(f"{i.field}: {describe(i)}"
                                                        for i in spec.inputs)
    return describe(spec.inputs[0])


def _action_text(spec: ProgramSpec) -> str:
    last = next((o for o in reversed(spec.ops) if o.output == spec.output and o.mode != "stochastic"),
                None)
    size = spec.shapes[spec.output].size
    if last is not None and last.op == "argmax":
        return "the index 0..n-1 (Discrete)"
    if last is not None and last.op == "multi_argmax":
        return f"a row of {size} indices (MultiDiscrete; MultiBinary: 0 or 1)"
    if last is not None and last.op == "binary":
        return f"a row of {size} zeros and ones (MultiBinary)"
    return f"a row of {size} element{'s' if size > 1 else ''} (Box)"


# --------------------------------------------------------------------------- writing
def generate_matlab_function(bundle: BundleSource, folder: str | os.PathLike,
                             name: str | None = None) -> Path:
    """Write ``folder/NAME.m``: the bundle's deterministic policy as straight-line MATLAB.

    :param bundle: a ``.mat`` bundle's path (or a bundle dict, or a ``Program``).
    :param folder: where to write; created if needed.
    :param name: the function's name; defaults to the bundle's name prefix followed by
        ``_predict`` (``policy_v000003.mat`` gives ``policy_predict``).
    :return: the path of the written file. It is replaced atomically: a reader never sees
        a half-written function.
    :raises UnsupportedError: the program holds an op the generator does not know.
    :raises BundleError: the bundle is missing, corrupt or not a bundle.
    :raises ValueError: ``name`` is not a valid MATLAB function name.
    """
    from ..deliver.writer import atomic_write_bytes

    spec = load_program_spec(bundle)
    name = default_name(bundle) if name is None else name
    text = render_matlab_function(spec, name)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.m"
    atomic_write_bytes(path, text.encode(), temp_suffix=".tmp")
    return path
