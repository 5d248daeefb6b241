"""Observation spaces: inputs as SB3's preprocess_obs, image layouts, unsupported spaces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from envs import SpaceEnv, box
from stable_baselines3 import DQN, PPO, SAC

from sb3_matlab_callback import UnsupportedError, export_policy, load_bundle
from sb3_matlab_callback.bundle.bundle import build_program, image_layouts
from sb3_matlab_callback.translate.builder import Builder

IMAGE = gym.spaces.Box(0, 255, (36, 36, 3), np.uint8)
ACT = box(-1.0, 1.0, shape=(2,))


def _ppo(obs: gym.Space, policy: str = "CnnPolicy", **policy_kwargs: Any) -> PPO:
    policy_kwargs.setdefault("net_arch", [4])
    if policy == "CnnPolicy":
        policy_kwargs.setdefault("features_extractor_kwargs", {"features_dim": 8})
    return PPO(policy, SpaceEnv(obs, ACT), n_steps=8, batch_size=8, policy_kwargs=policy_kwargs)


def _inputs(program: Any) -> list[dict[str, Any]]:
    return [{"key": i.key, "kind": i.kind, **i.params} for i in program.inputs]


def test_channel_last_image_env_is_hwc_and_kept_spatial() -> None:
    model = _ppo(IMAGE)
    assert model.policy.observation_space.shape == (3, 36, 36)  # SB3's VecTransposeImage
    program = build_program(model)
    (spec,) = _inputs(program)
    assert spec["kind"] == "image" and spec["layout"] == "HWC"
    assert spec["transposable"] == 1.0 and spec["scale"] == 255.0
    np.testing.assert_array_equal(spec["shape"], [[3, 36, 36]])
    assert program.spatial[program.inputs[0].output] == (3, 36, 36)
    assert [op.op for op in program.ops[:3]] == ["conv2d", "relu", "conv2d"]
    assert "flatten" in [op.op for op in program.ops]


def test_channel_first_image_env_is_chw() -> None:
    model = _ppo(gym.spaces.Box(0, 255, (4, 36, 36), np.uint8))
    (spec,) = _inputs(build_program(model))
    assert spec["layout"] == "CHW"


def test_model_without_env_defaults_to_hwc() -> None:
    model = _ppo(gym.spaces.Box(0, 255, (4, 36, 36), np.uint8))
    model.env = None
    assert image_layouts(model) == {"": "HWC"}


def test_dict_layouts_per_key() -> None:
    space = gym.spaces.Dict({"cam": IMAGE, "pos": box(-1.0, 1.0, (3,))})
    model = PPO("MultiInputPolicy", SpaceEnv(space, ACT), n_steps=8, batch_size=8,
                policy_kwargs={"net_arch": [4], "features_extractor_kwargs": {"cnn_output_dim": 4}})
    assert image_layouts(model) == {"cam": "HWC", "pos": "CHW"}
    kinds = {i["key"]: i["kind"] for i in _inputs(build_program(model))}
    assert kinds == {"cam": "image", "pos": "box"}


def test_float_3d_box_is_taken_as_is() -> None:
    space = box(-1.0, 1.0, shape=(3, 4, 5))
    (spec,) = _inputs(build_program(_ppo(space, "MlpPolicy")))
    assert spec["kind"] == "image" and spec["layout"] == "CHW"
    assert spec["transposable"] == 0.0 and spec["scale"] == 1.0


def test_normalize_images_false_keeps_pixels() -> None:
    (spec,) = _inputs(build_program(_ppo(IMAGE, normalize_images=False)))
    assert spec["scale"] == 1.0 and spec["layout"] == "HWC"


def test_reference_images_are_embedded_as_the_env_gives_them(tmp_path: Path) -> None:
    bundle = load_bundle(export_policy(_ppo(IMAGE), tmp_path / "p.mat"))
    observations = bundle["reference"]["observations"]
    assert observations.shape == (16, 36, 36, 3) and observations.dtype == np.uint8


@pytest.mark.parametrize("start", [1, -2])
def test_discrete_observation_with_start_is_refused(tmp_path: Path, start: int) -> None:
    model = DQN("MlpPolicy", SpaceEnv(gym.spaces.Discrete(4), gym.spaces.Discrete(2)),
                buffer_size=10, policy_kwargs={"net_arch": [4]})
    model.policy.observation_space = gym.spaces.Discrete(4, start=start)
    with pytest.raises(UnsupportedError, match=rf"Discrete.*start={start}.*ObservationWrapper"):
        build_program(model)  # the training-start check of MatlabExportCallback
    with pytest.raises(UnsupportedError, match="start"):
        export_policy(model, tmp_path / "p.mat")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("space", [
    gym.spaces.MultiDiscrete([3, 4], start=[1, 0]),
    gym.spaces.MultiDiscrete([[2, 3], [4, 5]]),
])
def test_multidiscrete_sb3_cannot_preprocess_is_refused(space: gym.Space) -> None:
    with pytest.raises(UnsupportedError, match="MultiDiscrete"):
        Builder(space).observation()


@pytest.mark.parametrize("space", [
    gym.spaces.Tuple((box(-1.0, 1.0, (2,)), gym.spaces.Discrete(3))),
    gym.spaces.Sequence(box(-1.0, 1.0, (2,))),
    gym.spaces.Text(5),
    gym.spaces.Graph(node_space=box(-1.0, 1.0, (2,)), edge_space=None),
    gym.spaces.Dict({"inner": gym.spaces.Tuple((gym.spaces.Discrete(2),))}),
])
def test_unsupported_observation_spaces_are_named(space: gym.Space) -> None:
    name = type(space.spaces["inner"] if isinstance(space, gym.spaces.Dict) else space).__name__
    with pytest.raises(UnsupportedError, match=rf"observation space '{name}'.*"
                                               r"Supported observation spaces: Box.*wrapper"):
        Builder(space).observation()


def test_unsupported_action_space_fails_in_build_program() -> None:
    model = SAC("MlpPolicy", SpaceEnv(box(-1.0, 1.0, (3,)), ACT), buffer_size=10,
                policy_kwargs={"net_arch": [4]})
    model.action_space = gym.spaces.Tuple((ACT,))
    with pytest.raises(UnsupportedError, match=r"space 'Tuple'"):
        build_program(model)


def test_vecnormalize_statistics_follow_the_image_register(tmp_path: Path) -> None:
    from sb3_matlab_callback.translate.spaces import _normalizer_params

    mean = np.arange(2 * 3 * 4, dtype=np.float64).reshape(1, -1)  # C-order (C=2, H=3, W=4)
    params = _normalizer_params({"mean": mean, "var": mean + 1, "epsilon": 1e-8,
                                 "clip_obs": 10.0}, (2, 3, 4))
    spatial = params["mean"]
    assert spatial.shape == (1, 3, 4, 2)
    assert spatial[0, 1, 2, 1] == mean.reshape(2, 3, 4)[1, 1, 2]
