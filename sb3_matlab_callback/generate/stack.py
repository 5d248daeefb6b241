"""The frame stack of a ``VecFrameStack`` bundle, as the generated function carries it.

The function takes one frame (as the unwrapped env gives it) and the previous ``stack``,
and does what ``sb3.internal.frame_stack`` does for one row, and SB3's VecFrameStack for
one env: normalize the frame when VecNormalize sits inside the stack, zero the stack when
``episode_start`` is true, drop the oldest frame along the stack axis and append the new
one last. The new stack is returned, and it is the observation the program takes
(``obs``, which a VecNormalize outside the stack then normalizes as any input).
"""

from __future__ import annotations

from .code import Code, number
from .spec import StackSpec


def size_text(dims: tuple[int, ...]) -> str:
    """Return a MATLAB size as the help text writes it: ``36-by-36-by-4``."""
    return "-by-".join(str(d) for d in dims)


def size_vector(dims: tuple[int, ...]) -> str:
    """Return a MATLAB size row: ``[36 36 4]``."""
    return "[" + " ".join(str(d) for d in dims) + "]"


def frame_source(spec: StackSpec) -> str:
    """Return the MATLAB expression of one frame of this stack: ``frame`` or ``frame.<field>``."""
    return f"frame.{spec.field}" if spec.key else "frame"


def stack_source(spec: StackSpec) -> str:
    """Return the MATLAB expression of this stack: ``stack`` or ``stack.<field>``."""
    return f"stack.{spec.field}" if spec.key else "stack"


def describe_frame(spec: StackSpec) -> str:
    """Return how one frame looks, for help text and errors."""
    if len(spec.frame_shape) == 1:
        size = spec.frame_shape[0]
        return f"a row vector of {size} element{'s' if size > 1 else ''}"
    return f"an array {size_text(spec.frame_shape)}"


def emit_stack(spec: StackSpec, code: Code) -> None:
    """Write the statements that put this input's frame into its stack, last along its axis."""
    frame, stack = frame_source(spec), stack_source(spec)
    local, name = f"f{spec.index}", spec.key or "frame"
    code.comment(f"frame stack {spec.index}{f' {spec.key!r}' if spec.key else ''}: "
                 f"{spec.n_stack} frames, stacked along dimension {spec.dim}")
    code.add(*_check_frame(spec, frame, name))
    if len(spec.frame_shape) == 1:
        code.add(f"{local} = double(reshape({frame}, 1, {spec.frame_shape[0]}));")
    else:
        code.add(f"{local} = double({frame});")
    if spec.normalize:
        mean, var = (code.param(p.name) for p in spec.params)
        clip = number(spec.clip_obs)
        code.add(f"{local} = ({local} - double({mean})) ./ sqrt(double({var}) + "
                 f"{number(spec.epsilon)});",
                 f"{local} = min(max({local}, -{clip}), {clip});")
    code.add(*_check_stack(spec, stack))
    code.add("if episode_start", f"  {stack}(:) = 0;", "end")
    length = spec.dims[spec.dim - 1]
    index = ", ".join(f"{length + 1}:end" if d == spec.dim else ":"
                      for d in range(1, len(spec.stacked_dims) + 1))
    code.add(f"{stack} = cat({spec.dim}, double({stack}({index})), {local});")


def _check_frame(spec: StackSpec, frame: str, name: str) -> list[str]:
    if len(spec.frame_shape) == 1:
        condition = f"numel({frame}) ~= {spec.frame_shape[0]}"
    else:
        condition = " || ".join([f"size({frame}, {d}) ~= {s}" for d, s in
                                 enumerate(spec.frame_shape, start=1)] +
                                [f"ndims({frame}) > {len(spec.frame_shape)}"])
    return [f"if {condition}",
            "  error('sb3:generated:badObsSize', ...",
            f"        'Frame %s must be {describe_frame(spec)}.', '{name}');",
            "end"]


def _check_stack(spec: StackSpec, stack: str) -> list[str]:
    dims = spec.stacked_dims
    condition = " || ".join([f"size({stack}, {d}) ~= {s}" for d, s in enumerate(dims, start=1)] +
                            [f"ndims({stack}) > {len(dims)}"])
    return [f"if {condition}",
            "  error('sb3:generated:badState', ...",
            f"        '{stack} must be {size_text(dims)}, as the last call returned it.');",
            "end"]
