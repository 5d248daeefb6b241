"""docs/bundle-format.md: its plain-MATLAB recipes compute what torch computes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch as th
from octave import run_octave

from sb3_matlab_callback.translate.modules import translate, translate_lstm
from sb3_matlab_callback.translate.program import Program

pytestmark = pytest.mark.octave
DOC = Path(__file__).resolve().parents[1] / "docs" / "bundle-format.md"


def _snippet(marker: str) -> str:
    """The first MATLAB code block after ``marker`` in the doc."""
    section = DOC.read_text().split(marker, 1)[1]
    return re.search(r"```matlab\n(.*?)```", section, re.S).group(1)


def test_documented_ops_compute_what_torch_computes(tmp_path: Path) -> None:
    gen = th.Generator().manual_seed(0)
    conv = th.nn.Conv2d(3, 4, kernel_size=(3, 2), stride=(2, 1), dilation=(1, 2))
    lstm = th.nn.LSTM(5, 3)
    with th.no_grad():
        for p in [*conv.parameters(), *lstm.parameters()]:
            p.copy_(th.randn(p.shape, generator=gen))
        images = th.rand(2, 3, 9, 7, generator=gen)  # N, C, H, W
        conv_out = conv(images)
        x = th.randn(4, 5, generator=gen)
        h0, c0 = th.randn(1, 4, 3, generator=gen), th.randn(1, 4, 3, generator=gen)
        _, (h1, c1) = lstm(x[None], (h0, c0))
    program = Program()
    reg = program.new_register()
    program.spatial[reg] = (3, 9, 7)
    translate(conv, program, reg)
    translate_lstm(lstm, program, program.new_register())
    conv_op, lstm_op = program.ops
    layer = lstm_op.params["layers"][0, 0]
    scipy.io.savemat(tmp_path / "in.mat", {
        "x_img": images.permute(0, 2, 3, 1).double().numpy(),  # N x H x W x C
        "o": {**conv_op.params},
        "x": x.double().numpy(), "h0": h0[0].double().numpy(), "c0": c0[0].double().numpy(),
        **{k: v for k, v in layer.items()},
    })
    lstm_code = (_snippet("**LSTM step.**")
                 .replace("sigmoid(", "sig(").replace("h_k", "hk").replace("c_k", "ck"))
    script = f"""
load('in.mat');
x_lstm = x;
x = x_img;
{_snippet("`conv2d` in plain MATLAB")}
y_conv = y;
sig = @(z) 1 ./ (1 + exp(-z));
x = x_lstm; hk = h0; ck = c0; H = size(hk, 2);
{lstm_code}
save('-v7', 'out.mat', 'y_conv', 'hk', 'ck');
"""
    run_octave(script, tmp_path)
    out = scipy.io.loadmat(tmp_path / "out.mat")
    np.testing.assert_allclose(out["y_conv"], conv_out.permute(0, 2, 3, 1).numpy(), atol=1e-5)
    np.testing.assert_allclose(out["hk"], h1[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(out["ck"], c1[0].numpy(), atol=1e-5)
