"""Extractors for every algorithm family, module translations and their clear errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from envs import SpaceEnv, box
from sb3_contrib import ARS, QRDQN, MaskablePPO, RecurrentPPO
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3 import A2C, DQN, PPO, SAC
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

import sb3_matlab_callback as smc
from sb3_matlab_callback.bundle.bundle import build_program
from sb3_matlab_callback.translate.modules import translate, translate_lstm
from sb3_matlab_callback.translate.program import Program

OBS = box(-1.0, 1.0, shape=(3,))
ACT = box(-1.0, 1.0, shape=(2,))
PACKAGE = Path(smc.__file__).resolve().parent


class TwoLayerExtractor(BaseFeaturesExtractor):
    """A user's own features extractor."""

    def __init__(self, observation_space: gym.Space, features_dim: int = 5) -> None:
        super().__init__(observation_space, features_dim)
        self.net = th.nn.Sequential(th.nn.Linear(observation_space.shape[0], features_dim),
                                    th.nn.Tanh())

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return self.net(obs)


def _ops(model: object) -> list[str]:
    return [op.op for op in build_program(model).ops]


def test_every_algorithm_of_the_issue_is_registered() -> None:
    assert set(smc.supported_algorithms()) >= {
        "A2C", "PPO", "SAC", "TD3", "DQN", "ARS", "CrossQ", "MaskablePPO", "QRDQN",
        "RecurrentPPO", "TQC", "TRPO"}


def test_user_features_extractor_fails_with_how_to_register() -> None:
    model = PPO("MlpPolicy", SpaceEnv(OBS, ACT), n_steps=8, batch_size=8,
                policy_kwargs={"features_extractor_class": TwoLayerExtractor})
    with pytest.raises(smc.UnsupportedError) as info:
        build_program(model)  # what MatlabExportCallback runs at training start
    message = str(info.value)
    assert "features extractor 'TwoLayerExtractor'" in message
    assert "register_features_extractor(YourExtractor)" in message
    assert "CombinedExtractor" in message and "NatureCNN" in message


class RegisteredExtractor(TwoLayerExtractor):
    """The same extractor, registered by its user (lookup is by exact class)."""


def test_registered_features_extractor_exports(tmp_path: Path) -> None:
    @smc.register_features_extractor(RegisteredExtractor)
    def _(builder, extractor):
        (reg,) = builder.observation().values()
        return builder.module(extractor.net, reg)

    model = A2C("MlpPolicy", SpaceEnv(OBS, ACT),
                policy_kwargs={"features_extractor_class": RegisteredExtractor, "net_arch": [4]})
    assert _ops(model)[:2] == ["linear", "tanh"]
    bundle = smc.load_bundle(smc.export_policy(model, tmp_path / "p.mat"))
    assert np.asarray(bundle["reference"]["actions"]).shape == (16, 2)


def test_unknown_module_is_named_with_how_to_register() -> None:
    class Swish(th.nn.Module):
        def forward(self, x: th.Tensor) -> th.Tensor:
            return x * th.sigmoid(x)

    model = DQN("MlpPolicy", SpaceEnv(OBS, gym.spaces.Discrete(3)), buffer_size=10,
                policy_kwargs={"net_arch": [4], "activation_fn": Swish})
    with pytest.raises(smc.UnsupportedError, match=r"policy module 'Swish'.*register_module"):
        build_program(model)


def test_policy_subclass_of_contrib_algorithm_is_refused() -> None:
    class MyMaskable(MaskableActorCriticPolicy):
        pass

    model = MaskablePPO(MyMaskable, SpaceEnv(OBS, gym.spaces.Discrete(3)), n_steps=8,
                        batch_size=8, policy_kwargs={"net_arch": [4]})
    with pytest.raises(smc.UnsupportedError,
                       match=r"policy class for MaskablePPO 'MyMaskable'.*register_extractor"):
        build_program(model)


@pytest.mark.parametrize("make, expected", [
    (lambda: DQN("MlpPolicy", SpaceEnv(OBS, gym.spaces.Discrete(3)), buffer_size=10,
                 policy_kwargs={"net_arch": [4]}),
     ["linear", "relu", "linear", "argmax", "epsilon_greedy"]),
    (lambda: QRDQN("MlpPolicy", SpaceEnv(OBS, gym.spaces.Discrete(3)), buffer_size=10,
                   policy_kwargs={"net_arch": [4], "n_quantiles": 7}),
     ["linear", "relu", "linear", "mean", "argmax", "epsilon_greedy"]),
    (lambda: ARS("LinearPolicy", SpaceEnv(OBS, ACT)), ["linear", "clip"]),
    (lambda: ARS("MlpPolicy", SpaceEnv(OBS, ACT), policy_kwargs={"net_arch": [4]}),
     ["linear", "relu", "linear", "tanh", "unscale"]),
    (lambda: ARS("MlpPolicy", SpaceEnv(OBS, gym.spaces.Discrete(3)),
                 policy_kwargs={"net_arch": [4]}), ["linear", "relu", "linear", "argmax"]),
    (lambda: MaskablePPO("MlpPolicy", SpaceEnv(OBS, gym.spaces.MultiBinary(2)), n_steps=8,
                         batch_size=8, policy_kwargs={"net_arch": [4]}),
     ["linear", "tanh", "linear", "mask_logits", "multi_argmax", "multi_categorical_sample"]),
])
def test_program_shapes(make: object, expected: list[str]) -> None:
    assert _ops(make()) == expected


def test_ars_linear_policy_has_no_bias() -> None:
    program = build_program(ARS("LinearPolicy", SpaceEnv(OBS, ACT)))
    np.testing.assert_array_equal(program.ops[0].params["bias"], 0.0)


def test_qrdqn_mean_is_over_quantiles() -> None:
    model = QRDQN("MlpPolicy", SpaceEnv(OBS, gym.spaces.Discrete(3)), buffer_size=10,
                  policy_kwargs={"net_arch": [4], "n_quantiles": 7})
    mean = next(op for op in build_program(model).ops if op.op == "mean")
    np.testing.assert_array_equal(mean.params["shape"], [[7, 3]])
    assert mean.params["dim"] == 0.0


def test_dqn_epsilon_is_the_exploration_rate() -> None:
    model = DQN("MlpPolicy", SpaceEnv(OBS, gym.spaces.Discrete(3)), buffer_size=10,
                policy_kwargs={"net_arch": [4]})
    model.exploration_rate = 0.25
    op = next(op for op in build_program(model).ops if op.op == "epsilon_greedy")
    assert op.mode == "stochastic" and op.params == {"epsilon": 0.25, "n": 3.0}


def test_recurrent_program_carries_one_lstm_state() -> None:
    model = RecurrentPPO("MlpLstmPolicy", SpaceEnv(OBS, ACT), n_steps=8, batch_size=8,
                         policy_kwargs={"net_arch": [4], "lstm_hidden_size": 5,
                                        "n_lstm_layers": 2})
    program = build_program(model)
    assert program.state == {"kind": "lstm", "num_layers": 2.0, "hidden_size": 5.0}
    lstm = next(op for op in program.ops if op.op == "lstm")
    assert lstm.params["layers"].shape == (1, 2)
    assert lstm.params["layers"][0, 1]["weight_ih"].shape == (20, 5)


@pytest.mark.parametrize("kwargs", [{"bidirectional": True}, {"proj_size": 2},
                                    {"batch_first": True}])
def test_unsupported_lstm_variants(kwargs: dict) -> None:
    program = Program()
    reg = program.new_register()
    with pytest.raises(smc.UnsupportedError, match="LSTM"):
        translate_lstm(th.nn.LSTM(3, 4, **kwargs), program, reg)


def _image_register(shape: tuple[int, int, int] = (2, 9, 9)) -> tuple[Program, int]:
    program = Program()
    reg = program.new_register()
    program.spatial[reg] = shape
    return program, reg


def test_conv2d_tracks_the_image_shape() -> None:
    program, reg = _image_register()
    out = translate(th.nn.Conv2d(2, 4, kernel_size=3, stride=2, padding=1), program, reg)
    assert program.spatial[out] == (4, 5, 5)
    np.testing.assert_array_equal(program.ops[-1].params["padding"], [[1, 1, 1, 1]])
    same = translate(th.nn.Conv2d(4, 3, kernel_size=(2, 3), padding="same"), program, out)
    assert program.spatial[same] == (3, 5, 5)
    np.testing.assert_array_equal(program.ops[-1].params["padding"], [[0, 1, 1, 1]])
    relu = translate(th.nn.ReLU(), program, same)
    assert program.spatial[relu] == (3, 5, 5)
    flat = translate(th.nn.Flatten(), program, relu)
    assert flat not in program.spatial and program.ops[-1].op == "flatten"


@pytest.mark.parametrize("module, message", [
    (th.nn.Conv2d(2, 4, 3, groups=2), "groups=2"),
    (th.nn.Conv2d(2, 4, 3, padding=1, padding_mode="reflect"), "padding_mode='reflect'"),
    (th.nn.Conv2d(3, 4, 3), "expects 3 channels"),
    (th.nn.Conv2d(2, 4, 11), "does not fit"),
    (th.nn.Linear(4, 2), r"'Linear' applied to an image.*nn.Flatten"),
    (th.nn.Flatten(start_dim=2), "start_dim=2"),
    (th.nn.PReLU(2), r"'PReLU' applied to an image.*only elementwise"),
])
def test_unsupported_image_modules(module: th.nn.Module, message: str) -> None:
    program, reg = _image_register()
    with pytest.raises(smc.UnsupportedError, match=message):
        translate(module, program, reg)


def test_user_translation_on_an_image() -> None:
    class Square(th.nn.Module):
        def forward(self, x: th.Tensor) -> th.Tensor:
            return x * x

    class Pool(th.nn.Module):
        def forward(self, x: th.Tensor) -> th.Tensor:
            return x.mean(dim=(2, 3))

    smc.register_module(Square)(lambda m, program, reg: program.add("relu", reg))
    smc.register_module(Pool)(lambda m, program, reg: program.add("linear", reg))
    program, reg = _image_register()
    out = translate(Square(), program, reg)
    assert program.spatial[out] == (2, 9, 9)  # elementwise: still an image
    with pytest.raises(smc.UnsupportedError, match=r"'Pool' applied to an image"):
        translate(Pool(), program, out)


def test_conv2d_needs_an_image() -> None:
    program = Program()
    with pytest.raises(smc.UnsupportedError, match=r"Conv2d.*needs an image"):
        translate(th.nn.Conv2d(1, 1, 1), program, program.new_register())


def test_batch_norm_without_running_stats_is_refused() -> None:
    program = Program()
    with pytest.raises(smc.UnsupportedError, match="track_running_stats=False"):
        translate(th.nn.BatchNorm1d(3, track_running_stats=False), program,
                  program.new_register())


def test_batch_norm_and_layer_norm_translate() -> None:
    program = Program()
    reg = program.new_register()
    bn = th.nn.BatchNorm1d(3)
    bn.running_mean.fill_(0.5)
    translate(th.nn.Sequential(bn, th.nn.LayerNorm(3)), program, reg)
    assert [op.op for op in program.ops] == ["batch_norm", "layer_norm"]
    np.testing.assert_array_equal(program.ops[0].params["mean"], [[0.5, 0.5, 0.5]])


def test_without_sb3_contrib_the_core_still_works() -> None:
    code = ("import sys; sys.modules['sb3_contrib'] = None\n"
            "import sb3_matlab_callback as s\n"
            "print(','.join(s.supported_algorithms()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "A2C,DQN,PPO,SAC,TD3"


def test_every_tensor_goes_to_the_cpu_before_numpy() -> None:
    """Weights of a model on a CUDA device must be copied to host memory: a tensor's
    ``.numpy()`` is only ever called after ``.cpu()`` (no GPU here to run it for real)."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for match in re.finditer(r"\.numpy\(\)", line):
                if ".cpu()" not in line[: match.start()]:
                    offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []


def test_to_numpy_moves_tensors_to_the_cpu() -> None:
    from sb3_matlab_callback.translate.program import to_numpy

    class Tracked(th.Tensor):
        moved = False

        def cpu(self, *args, **kwargs):
            Tracked.moved = True
            return super().cpu(*args, **kwargs)

    value = th.ones(2, 3).as_subclass(Tracked)
    out = to_numpy(value)
    # float32 tensors keep their precision (stored as MATLAB single, issue #9)
    assert Tracked.moved and out.dtype == np.float32 and out.shape == (2, 3)


def test_sac_with_images_shares_nothing_it_should_not() -> None:
    """SAC's actor features extractor is its own (share_features_extractor=False)."""
    space = gym.spaces.Box(0, 255, (36, 36, 3), np.uint8)
    model = SAC("CnnPolicy", SpaceEnv(space, ACT), buffer_size=10,
                policy_kwargs={"net_arch": [4], "features_extractor_kwargs": {"features_dim": 4}})
    ops = _ops(model)
    assert ops.count("conv2d") == 3 and ops[-2:] == ["tanh", "unscale"]
