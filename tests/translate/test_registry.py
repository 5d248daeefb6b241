"""The extractor registry: MRO lookup, public registration, did-you-mean errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from envs import SpaceEnv, box
from stable_baselines3 import DDPG, SAC, TD3

import sb3_matlab_callback as smc
from sb3_matlab_callback.translate.extractors import find_extractor
from sb3_matlab_callback.translate.extractors.td3 import td3

OBS = box(-1.0, 1.0, shape=(3,))
ACT = box(-2.0, 3.0, shape=(2,))


class MySAC(SAC):
    """A user's subclass: resolves through the MRO."""


def test_ddpg_resolves_to_the_td3_extractor() -> None:
    model = DDPG("MlpPolicy", SpaceEnv(OBS, ACT), buffer_size=10, policy_kwargs={"net_arch": [4]})
    assert find_extractor(model) is td3


def test_user_subclass_of_sac_exports(tmp_path: Path) -> None:
    model = MySAC("MlpPolicy", SpaceEnv(OBS, ACT), buffer_size=10, policy_kwargs={"net_arch": [4]})
    bundle = smc.load_bundle(smc.export_policy(model, tmp_path / "p.mat"))
    assert bundle["algorithm"] == "SAC"


def test_register_extractor_for_a_new_algorithm(tmp_path: Path) -> None:
    class MyTD3(TD3):
        """Pretend this is a new algorithm with its own extractor."""

    calls = []

    @smc.register_extractor(MyTD3)
    def my_extractor(model, builder):
        calls.append(type(model).__name__)
        return td3(model, builder)

    model = MyTD3("MlpPolicy", SpaceEnv(OBS, ACT), buffer_size=10, policy_kwargs={"net_arch": [4]})
    bundle = smc.load_bundle(smc.export_policy(model, tmp_path / "p.mat"))
    assert calls == ["MyTD3"]
    assert "MyTD3" in smc.supported_algorithms()
    assert np.asarray(bundle["reference"]["actions"]).shape == (16, 2)


def test_did_you_mean() -> None:
    class SACC:
        pass

    with pytest.raises(smc.UnsupportedError, match=r"Did you mean 'SAC'\?"):
        find_extractor(SACC())  # type: ignore[arg-type]
