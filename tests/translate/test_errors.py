"""Bad input on the Python side: clear errors that name the problem, nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from envs import SpaceEnv, box
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from sb3_matlab_callback import (
    BundleError,
    ExportFolderError,
    UnsupportedError,
    export_policy,
    load_bundle,
)

OBS = box(-1.0, 1.0, shape=(3,))
ACT = box(-1.0, 1.0, shape=(1,))


def _sac(**policy_kwargs: object) -> SAC:
    policy_kwargs.setdefault("net_arch", [4])
    return SAC("MlpPolicy", SpaceEnv(OBS, ACT), buffer_size=10, policy_kwargs=policy_kwargs)


class Swish2(th.nn.Module):
    def forward(self, x: th.Tensor) -> th.Tensor:
        return x * th.sigmoid(2 * x)


class MyExtractor(BaseFeaturesExtractor):
    def __init__(self, observation_space: gym.Space) -> None:
        super().__init__(observation_space, features_dim=3)

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return obs


def _nothing_written(folder: Path) -> None:
    assert [p.name for p in folder.iterdir()] == []


def test_unknown_activation_is_named(tmp_path: Path) -> None:
    model = _sac(activation_fn=Swish2)
    with pytest.raises(UnsupportedError, match=r"policy module 'Swish2'.*register_module"):
        export_policy(model, tmp_path / "p.mat")
    _nothing_written(tmp_path)


def test_custom_features_extractor_is_named(tmp_path: Path) -> None:
    model = _sac(features_extractor_class=MyExtractor)
    with pytest.raises(UnsupportedError, match=r"features extractor 'MyExtractor'.*FlattenExtractor"):
        export_policy(model, tmp_path / "p.mat")
    _nothing_written(tmp_path)


def test_unsupported_algorithm_lists_supported(tmp_path: Path) -> None:
    class NotAnSB3Algorithm:
        pass

    with pytest.raises(UnsupportedError, match=r"algorithm 'NotAnSB3Algorithm'.*SAC"):
        export_policy(NotAnSB3Algorithm(), tmp_path / "p.mat")  # type: ignore[arg-type]
    _nothing_written(tmp_path)


def test_unsupported_policy_class_is_named(tmp_path: Path) -> None:
    from stable_baselines3.common.policies import ActorCriticPolicy

    class MyPolicy(ActorCriticPolicy):
        pass

    model = PPO(MyPolicy, SpaceEnv(OBS, ACT), n_steps=8, batch_size=8)
    with pytest.raises(UnsupportedError, match=r"policy class for PPO 'MyPolicy'"):
        export_policy(model, tmp_path / "p.mat")
    _nothing_written(tmp_path)


def test_unwritable_or_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ExportFolderError, match="does not exist"):
        export_policy(_sac(), tmp_path / "missing" / "p.mat")
    target = tmp_path / "file"
    target.write_text("")
    with pytest.raises(ExportFolderError, match=str(target)):
        export_policy(_sac(), target / "p.mat")


def test_read_only_folder(tmp_path: Path) -> None:
    # Root ignores permission bits; /sys is a real folder that refuses new files even to root.
    folder = Path("/sys") if os.geteuid() == 0 else tmp_path
    folder.chmod(0o500) if folder == tmp_path else None
    try:
        with pytest.raises(ExportFolderError, match=f"{folder}.*not writable"):
            export_policy(_sac(), folder / "p.mat")
    finally:
        tmp_path.chmod(0o700)


def test_path_must_end_in_mat(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"must end in '\.mat'"):
        export_policy(_sac(), tmp_path / "policy.bin")
    _nothing_written(tmp_path)


def test_vec_normalize_must_be_vec_normalize(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="VecNormalize"):
        export_policy(_sac(), tmp_path / "p.mat", vec_normalize=object())  # type: ignore[arg-type]


def test_unsupported_observation_space_is_named(tmp_path: Path) -> None:
    space = gym.spaces.Tuple((OBS, OBS))
    model = _sac()
    model.policy.observation_space = space
    with pytest.raises(UnsupportedError, match=r"'Tuple'"):
        export_policy(model, tmp_path / "p.mat")
    _nothing_written(tmp_path)


def test_load_bundle_errors(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="does not exist"):
        load_bundle(tmp_path / "nope.mat")
    corrupt = tmp_path / "corrupt.mat"
    corrupt.write_bytes(b"MATLAB 5.0 MAT-file, garbage" + bytes(200))
    with pytest.raises(BundleError, match="corrupt"):
        load_bundle(corrupt)
    other = tmp_path / "other.mat"
    import scipy.io

    scipy.io.savemat(other, {"x": np.eye(2)})
    with pytest.raises(BundleError, match="not an sb3-matlab bundle"):
        load_bundle(other)


def test_export_writes_a_self_describing_bundle(tmp_path: Path) -> None:
    model = _sac()
    path = export_policy(model, tmp_path / "p.mat", version=7)
    assert path == tmp_path / "p.mat"
    bundle = load_bundle(path)
    assert bundle["format_version"] == 1
    assert bundle["algorithm"] == "SAC"
    assert bundle["version"] == 7
    assert bundle["num_timesteps"] == model.num_timesteps
    assert bundle["observation_space"]["type"] == "Box"
    np.testing.assert_array_equal(bundle["action_space"]["low"], -1.0)
    ref = bundle["reference"]
    actions, _ = model.predict(ref["observations"].astype(np.float32), deterministic=True)
    np.testing.assert_allclose(ref["actions"].reshape(actions.shape), actions, atol=0)
    assert [p.name for p in tmp_path.iterdir()] == ["p.mat"]  # no temp file left
