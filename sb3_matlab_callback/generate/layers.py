"""Layers: linear, conv2d, flatten, concat, batch_norm, layer_norm, mean and the LSTM step.

Flat registers are ``1-by-d`` rows (so ``x * W`` with ``W`` in-by-out), images
``H-by-W-by-C``; see :mod:`.spec` for the params layout.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .code import Code, number
from .ops import ShapeFn, register, same_shape
from .spec import OpSpec, Param, Shape, _items


def _row(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64).reshape(1, -1)


def _check_flat(spec: OpSpec) -> None:
    if spec.in_shapes[0].image:
        raise ValueError(f"op {spec.index} ({spec.op}) takes a flat register, got an image "
                         f"{spec.in_shapes[0].dims}.")


# --------------------------------------------------------------------------- linear
def _linear_shape(spec: OpSpec, raw: dict[str, Any]) -> None:
    """One param: the weight transposed with the bias as last row (spec.py, *Bias folding*)."""
    _check_flat(spec)
    bias = _row(raw["bias"])
    n_in, n_out = spec.in_shapes[0].size, bias.shape[1]
    weight = np.asarray(raw["weight"], dtype=np.float64).reshape(n_out, n_in)
    spec.out_shape = Shape((n_out,))
    folded = np.vstack([weight.T, bias])
    if spec.unit:  # one more column, [0 ... 0 1]': the output's trailing 1
        folded = np.hstack([folded, np.eye(n_in + 1)[:, -1:]])
    spec.params = [Param(f"op{spec.index}_weight", folded.shape, folded)]


@register("linear", shape=_linear_shape)
def _emit_linear(spec: OpSpec, code: Code) -> None:
    x = code.reg(spec.inputs[0])
    if spec.inputs[0] not in code.unit_regs:
        x = f"[{x}, 1]"
    code.add(f"{code.out(spec)} = {x} * {code.param(spec.params[0].name)};")
    if spec.unit:
        code.unit_regs.add(spec.output)


# --------------------------------------------------------------------------- conv2d
def _conv2d_shape(spec: OpSpec, raw: dict[str, Any]) -> None:
    height, width, channels = spec.in_shapes[0].dims
    kh, kw = (int(v) for v in np.ravel(raw["kernel_size"]))
    sh, sw = (int(v) for v in np.ravel(raw["stride"]))
    dh, dw = (int(v) for v in np.ravel(raw["dilation"]))
    pad = [int(v) for v in np.ravel(raw["padding"])]
    bias = _row(raw["bias"])
    cout = bias.shape[1]
    weight = np.asarray(raw["weight"], dtype=np.float64).reshape(cout, channels, kh, kw)
    out_h = (height + pad[0] + pad[1] - dh * (kh - 1) - 1) // sh + 1
    out_w = (width + pad[2] + pad[3] - dw * (kw - 1) - 1) // sw + 1
    spec.out_shape = Shape((out_h, out_w, cout))
    spec.consts = {"kernel_size": (kh, kw), "stride": (sh, sw), "dilation": (dh, dw),
                   "padding": tuple(pad)}
    # Rows ordered (kernel column, kernel row, channel) slowest to fastest, as the patches.
    matrix = weight.transpose(3, 2, 1, 0).reshape(kw * kh * channels, cout)
    spec.params = [Param(f"op{spec.index}_weight", matrix.shape, matrix),
                   Param(f"op{spec.index}_bias", (1, cout), bias)]


@register("conv2d", shape=_conv2d_shape)
def _emit_conv2d(spec: OpSpec, code: Code) -> None:
    k = spec.index
    height, width, channels = spec.in_shapes[0].dims
    out_h, out_w, cout = spec.out_shape.dims
    (kh, kw), (sh, sw), (dh, dw) = (spec.consts[n] for n in ("kernel_size", "stride", "dilation"))
    top, bottom, left, right = spec.consts["padding"]
    image, patches = f"x{k}", f"p{k}"
    if any(spec.consts["padding"]):
        code.add(f"{image} = zeros({height + top + bottom}, {width + left + right}, "
                 f"{channels}, 'single');",
                 f"{image}({top} + (1:{height}), {left} + (1:{width}), :) = "
                 f"{code.reg(spec.inputs[0])};")
    else:
        image = code.single_var(spec.inputs[0], image)
    rows, cols, patch = f"rows{k}", f"cols{k}", f"patch{k}"
    code.add(f"{patches} = zeros({out_h * out_w}, {kh * kw * channels}, 'single');",
             f"{rows} = (0:{out_h - 1}) * {sh} + 1;",
             f"{cols} = (0:{out_w - 1}) * {sw} + 1;",
             f"for kj = 1:{kw}", f"  for ki = 1:{kh}",
             f"    {patch} = {image}({rows} + (ki - 1) * {dh}, {cols} + (kj - 1) * {dw}, :);",
             f"    {patches}(:, ((kj - 1) * {kh} + ki - 1) * {channels} + (1:{channels})) = "
             f"reshape({patch}, {out_h * out_w}, {channels});",
             "  end", "end")
    weight, bias = (code.param(p.name) for p in spec.params)
    code.add(f"{code.out(spec)} = reshape({patches} * {weight} + {bias}, "
             f"{out_h}, {out_w}, {cout});")


# --------------------------------------------------------------------------- reshaping
def _flatten_shape(spec: OpSpec, raw: dict[str, Any]) -> None:
    spec.out_shape = Shape((spec.in_shapes[0].size,))


@register("flatten", shape=_flatten_shape)
def _emit_flatten(spec: OpSpec, code: Code) -> None:
    # H-by-W-by-C to torch's C order of (C, H, W): width fastest, then height, then channel.
    code.add(f"{code.out(spec)} = reshape(permute({code.reg(spec.inputs[0])}, [2 1 3]), 1, "
             f"{spec.in_shapes[0].size});")
    if spec.inputs[0] in code.double_regs:
        code.double_regs.add(spec.output)


def _concat_shape(spec: OpSpec, raw: dict[str, Any]) -> None:
    for shape in spec.in_shapes:
        if shape.image:
            raise ValueError(f"op {spec.index} (concat) takes flat registers, got an image.")
    spec.out_shape = Shape((sum(s.size for s in spec.in_shapes),))


@register("concat", shape=_concat_shape)
def _emit_concat(spec: OpSpec, code: Code) -> None:
    parts = ", ".join(code.reg(r) for r in spec.inputs)
    code.add(f"{code.out(spec)} = [{parts}];")
    if all(r in code.double_regs for r in spec.inputs):
        code.double_regs.add(spec.output)  # double with single concatenates to single


def _mean_shape(spec: OpSpec, raw: dict[str, Any]) -> None:
    shape = tuple(int(v) for v in np.ravel(raw["shape"]))
    dim = int(np.ravel(raw["dim"])[0])
    spec.consts = {"shape": shape, "dim": dim}
    spec.out_shape = Shape((int(np.prod(shape)) // shape[dim],))


@register("mean", shape=_mean_shape)
def _emit_mean(spec: OpSpec, code: Code) -> None:
    # A row in C order of `shape` is, column-major, an array of size fliplr(shape).
    shape, dim = spec.consts["shape"], spec.consts["dim"]
    sizes = list(reversed(shape)) + ([1] if len(shape) == 1 else [])
    size_text = "[" + " ".join(str(s) for s in sizes) + "]"
    code.add(f"{code.out(spec)} = reshape(mean(reshape({code.single(spec.inputs[0])}, "
             f"{size_text}), {len(shape) - dim}), 1, {spec.out_shape.size});")


# --------------------------------------------------------------------------- normalization
def _norm_shape(*names: str) -> ShapeFn:
    """Return a normalization's shape rule: a flat input, ``eps``, a ``1-by-d`` param per name."""

    def shape(spec: OpSpec, raw: dict[str, Any]) -> None:
        _check_flat(spec)
        same_shape(spec, raw)
        spec.consts = {"eps": float(np.ravel(raw["eps"])[0])}
        spec.params = [Param(f"op{spec.index}_{name}", (1, spec.out_shape.size), _row(raw[name]))
                       for name in names]

    return shape


@register("batch_norm", shape=_norm_shape("mean", "var", "weight", "bias"))
def _emit_batch_norm(spec: OpSpec, code: Code) -> None:
    mean, var, weight, bias = (code.param(p.name) for p in spec.params)
    out = code.out(spec)
    code.add(f"{out} = ({code.single(spec.inputs[0])} - {mean}) ./ "
             f"sqrt({var} + {number(spec.consts['eps'])});",
             f"{out} = {out} .* {weight} + {bias};")


@register("layer_norm", shape=_norm_shape("weight", "bias"))
def _emit_layer_norm(spec: OpSpec, code: Code) -> None:
    weight, bias = (code.param(p.name) for p in spec.params)
    centered = f"t{spec.index}"
    x = code.single(spec.inputs[0])
    out = code.out(spec)
    code.add(f"{centered} = {x} - mean({x}, 2);",
             f"{out} = {centered} ./ sqrt(mean({centered}.^2, 2) + "
             f"{number(spec.consts['eps'])});",
             f"{out} = {out} .* {weight} + {bias};")


# --------------------------------------------------------------------------- LSTM
LSTM_FIELDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _lstm_shape(spec: OpSpec, raw: dict[str, Any]) -> None:
    _check_flat(spec)
    layers = _items(raw["layers"])
    num_layers, hidden = int(np.ravel(raw["num_layers"])[0]), int(np.ravel(raw["hidden_size"])[0])
    spec.consts = {"num_layers": num_layers, "hidden_size": hidden}
    spec.out_shape = Shape((hidden,))
    n_in = spec.in_shapes[0].size
    for j, layer in enumerate(layers, start=1):
        width = n_in if j == 1 else hidden
        prefix = f"op{spec.index}_l{j}_"
        w_ih = np.asarray(layer["weight_ih"], dtype=np.float64).reshape(4 * hidden, width)
        w_hh = np.asarray(layer["weight_hh"], dtype=np.float64).reshape(4 * hidden, hidden)
        spec.params += [Param(prefix + "weight_ih", (width, 4 * hidden), w_ih.T),
                        Param(prefix + "weight_hh", (hidden, 4 * hidden), w_hh.T),
                        Param(prefix + "bias_ih", (1, 4 * hidden), _row(layer["bias_ih"])),
                        Param(prefix + "bias_hh", (1, 4 * hidden), _row(layer["bias_hh"]))]


@register("lstm", shape=_lstm_shape)
def _emit_lstm(spec: OpSpec, code: Code) -> None:
    hidden = spec.consts["hidden_size"]
    code.add("if episode_start", "  h(:) = 0;", "  c(:) = 0;", "end")
    x = code.reg(spec.inputs[0])
    for j in range(1, spec.consts["num_layers"] + 1):
        w_ih, w_hh, b_ih, b_hh = (code.param(f"op{spec.index}_l{j}_{name}") for name in LSTM_FIELDS)
        code.comment(f"layer {j}: gates i, f, g, o as in torch.nn.LSTM")
        code.add(f"lstm_gates = {x} * {w_ih} + {b_ih};",
                 f"lstm_gates = lstm_gates + single(h({j}, :)) * {w_hh} + {b_hh};",
                 f"lstm_i = 1 ./ (1 + exp(-lstm_gates(1:{hidden})));",
                 f"lstm_f = 1 ./ (1 + exp(-lstm_gates({hidden + 1}:{2 * hidden})));",
                 f"lstm_g = tanh(lstm_gates({2 * hidden + 1}:{3 * hidden}));",
                 f"lstm_o = 1 ./ (1 + exp(-lstm_gates({3 * hidden + 1}:{4 * hidden})));",
                 f"lstm_c = lstm_f .* single(c({j}, :)) + lstm_i .* lstm_g;",
                 "lstm_h = lstm_o .* tanh(lstm_c);",
                 f"h({j}, :) = lstm_h;",
                 f"c({j}, :) = lstm_c;")
        x = "lstm_h"
    code.add(f"{code.out(spec)} = lstm_h;")
