"""sb3-contrib algorithms during training: refused at start when unsupported, else exact.

MatlabExportCallback snapshots the policy while it trains; CrossQ's BatchRenorm
statistics, RecurrentPPO's LSTM and MaskablePPO's head must come through as they were at
each snapshot. Every bundle written is checked with sb3.verify in one Octave process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from envs import SpaceEnv, box
from octave import run_octave
from sb3_contrib import CrossQ, MaskablePPO, RecurrentPPO
from sb3_contrib.common.wrappers import ActionMasker
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from sb3_matlab_callback import MatlabExportCallback, UnsupportedError

OBS = box(-1.0, 1.0, shape=(3,))


class MyExtractor(BaseFeaturesExtractor):
    def __init__(self, observation_space: gym.Space) -> None:
        super().__init__(observation_space, features_dim=3)

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return obs


def test_unsupported_extractor_fails_at_training_start(tmp_path: Path) -> None:
    model = RecurrentPPO("MlpLstmPolicy", SpaceEnv(OBS, gym.spaces.Discrete(2)), n_steps=8,
                         batch_size=8, policy_kwargs={"features_extractor_class": MyExtractor,
                                                      "lstm_hidden_size": 4})
    with pytest.raises(UnsupportedError, match="features extractor 'MyExtractor'"):
        model.learn(16, callback=MatlabExportCallback(8, tmp_path / "run"))
    assert model.num_timesteps == 0
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").glob("*.mat"))


def _masks(env: gym.Env) -> np.ndarray:
    return np.array([True, env.unwrapped._t % 2 == 0, True, True, False])


def _models() -> dict[str, Any]:
    return {
        "crossq": CrossQ("MlpPolicy", SpaceEnv(OBS, box(-2.0, 1.0, (2,))), buffer_size=200,
                         learning_starts=16, batch_size=8, seed=0,
                         policy_kwargs={"net_arch": [8], "renorm_warmup_steps": 8}),
        "recurrent": RecurrentPPO("MlpLstmPolicy", SpaceEnv(OBS, box(-1.0, 1.0, (2,))),
                                  n_steps=16, batch_size=16, n_epochs=2, seed=0,
                                  policy_kwargs={"net_arch": [8], "lstm_hidden_size": 4}),
        "maskable": MaskablePPO("MlpPolicy", ActionMasker(
                                    SpaceEnv(OBS, gym.spaces.MultiDiscrete([3, 2])), _masks),
                                n_steps=16, batch_size=16, n_epochs=2, seed=0,
                                policy_kwargs={"net_arch": [8]}),
    }


@pytest.mark.octave
def test_bundles_written_during_training_verify(tmp_path: Path) -> None:
    folders = []
    for name, model in _models().items():
        before = [b.clone() for b in model.policy.buffers()]
        model.learn(64, callback=MatlabExportCallback(16, tmp_path / name))
        if name == "crossq":  # BatchRenorm's running statistics moved while training
            after = list(model.policy.buffers())
            assert any(not th.equal(a, b) for a, b in zip(after, before, strict=True))
        bundles = sorted((tmp_path / name).glob("*.mat"))
        assert len(bundles) >= 2, name
        folders += bundles
    script = "\n".join(f"e = sb3.verify(sb3.load_policy('{path}')); "
                       f"fprintf('%s %g\\n', '{path.name}', e);" for path in folders)
    lines = run_octave(script, tmp_path).stdout.strip().splitlines()
    assert len(lines) == len(folders), lines
