"""Action heads and post-processing: unscale, clip, argmax, multi_argmax, binary, masks.

The action bounds of ``unscale`` and ``clip`` come from the action space, which one
training run never changes: they are written into the code (and the fingerprint).

SB3's squashed actions (SAC, TD3, gSDE with ``squash_output``) are ``tanh`` then
``unscale``: ``low + 0.5 * (tanh(x) + 1) .* (high - low)``, which is the logistic
``high - (high - low) ./ (1 + exp(2 * x))``. :func:`fused_squashes` finds those pairs and
the unscale writes the logistic with ``exp(2 * x)`` as ``e^2.^x``: operators only, where
``tanh`` and ``exp`` are builtin calls that cost Octave about 1.1 us each
(docs/performance.md). NaN stays NaN, +Inf gives ``high`` and -Inf ``low``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from .code import Code, number, vector
from .ops import register, same_shape
from .spec import OpSpec, ProgramSpec, Shape

MASKED_LOGIT = "-1e8"  # sb3-contrib's MaskableCategorical.apply_masking


def _bounds_shape(spec: OpSpec, raw: dict[str, Any]) -> None:
    same_shape(spec, raw)
    spec.consts = {name: tuple(float(v) for v in np.ravel(raw[name])) for name in ("low", "high")}


def fused_squashes(spec: ProgramSpec) -> dict[int, int]:
    """Return the ``tanh`` ops that only the next op, a finite ``unscale``, reads.

    :returns: tanh op index -> the tanh's input register (the unscale reads it instead).
    """
    ops = [op for op in spec.ops if op.mode != "stochastic"]
    fused = {}
    for op, after in itertools.pairwise(ops):
        readers = [other for other in ops if op.output in other.inputs]
        if (op.op == "tanh" and after.op == "unscale" and after.inputs == (op.output,)
                and readers == [after] and op.output != spec.output
                and np.isfinite([*after.consts["low"], *after.consts["high"]]).all()):
            fused[op.index] = op.inputs[0]
    return fused


@register("unscale", shape=_bounds_shape)
def _emit_unscale(spec: OpSpec, code: Code) -> None:
    low, high = (np.array(spec.consts[n]) for n in ("low", "high"))
    if spec.inputs[0] in code.squashed:
        x = code.single(code.squashed[spec.inputs[0]])
        code.comment("tanh and unscale as one logistic: high - (high - low) ./ (1 + exp(2 * x))")
        code.add(f"{code.out(spec)} = {vector(high)} - {vector(high - low)} ./ "
                 f"(1 + {number(math.exp(2))}.^{x});")
        return
    # low + 0.5*(x + 1).*(high - low) == x .* half + mid, as sb3.load_policy precomputes it.
    half = 0.5 * (high - low)
    value = code.single(spec.inputs[0])
    if np.any(half != 1):
        value += f" .* {vector(half)}"
    if np.any(low + half != 0):
        value += f" + {vector(low + half)}"
    code.add(f"{code.out(spec)} = {value};")


@register("clip", shape=_bounds_shape)
def _emit_clip(spec: OpSpec, code: Code) -> None:
    # MATLAB's max and min ignore NaN; np.clip keeps it, and so does the second line (SB3's
    # predict raises for a NaN mean: NaN is the generated function's way to refuse).
    low, high = (vector(spec.consts[n]) for n in ("low", "high"))
    x, out = code.reg(spec.inputs[0]), code.out(spec)
    code.add(f"{out} = min(max({code.single(spec.inputs[0])}, {low}), {high});",
             f"{out}({x} ~= {x}) = NaN;")


def _index_shape(spec: OpSpec, raw: dict[str, Any]) -> None:
    spec.out_shape = Shape((1,))


@register("argmax", shape=_index_shape)
def _emit_argmax(spec: OpSpec, code: Code) -> None:
    # max returns the first maximum, as torch.argmax does.
    index = f"i{spec.index}"
    code.add(f"[~, {index}] = max({code.reg(spec.inputs[0])});",
             f"{code.out(spec)} = {index} - 1;")
    code.double_regs.add(spec.output)


def _blocks_shape(spec: OpSpec, raw: dict[str, Any]) -> None:
    spec.consts = {"nvec": tuple(int(v) for v in np.ravel(raw["nvec"]))}
    spec.out_shape = Shape((len(spec.consts["nvec"]),))


@register("multi_argmax", shape=_blocks_shape)
def _emit_multi_argmax(spec: OpSpec, code: Code) -> None:
    x, out, index = code.reg(spec.inputs[0]), code.out(spec), f"i{spec.index}"
    code.add(f"{out} = zeros(1, {len(spec.consts['nvec'])});")
    first = 1
    for block, size in enumerate(spec.consts["nvec"], start=1):
        code.add(f"[~, {index}] = max({x}({first}:{first + size - 1}));",
                 f"{out}({block}) = {index} - 1;")
        first += size
    code.double_regs.add(spec.output)


@register("binary")
def _emit_binary(spec: OpSpec, code: Code) -> None:
    code.add(f"{code.out(spec)} = double({code.reg(spec.inputs[0])} > 0);")
    code.double_regs.add(spec.output)


@register("mask_logits")
def _emit_mask_logits(spec: OpSpec, code: Code) -> None:
    size = spec.in_shapes[0].size
    out = code.out(spec)
    code.add(f"{out} = {code.single(spec.inputs[0])};",
             "if nargin >= " + str(code.mask_argument),
             f"  if numel(action_masks) ~= {size}",
             "    error('sb3:generated:badActionMasks', ...",
             f"          'action_masks must have one element per choice ({size}).');",
             "  end",
             f"  {out}(~action_masks) = {MASKED_LOGIT};",
             "end")
