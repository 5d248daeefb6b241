"""'Deterministic', false: Octave samples from the same distribution as SB3's predict()."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from envs import SpaceEnv, box, perturb
from octave import PredictCall, octave_predict_many
from stable_baselines3 import PPO, SAC

from sb3_matlab_callback import export_policy

pytestmark = pytest.mark.octave
N = 3000
OBS = box(-1.0, 1.0, shape=(3,))
ACT = box([-1.0, 0.0], [2.0, 10.0])


def _models() -> dict[str, Any]:
    def kw() -> dict[str, Any]:  # SB3 mutates policy_kwargs: a fresh dict per model
        return {"policy_kwargs": {"net_arch": [8]}, "seed": 0}

    models = {
        "sac": SAC("MlpPolicy", SpaceEnv(OBS, ACT), buffer_size=10, **kw()),
        "sac-gsde": SAC("MlpPolicy", SpaceEnv(OBS, ACT), buffer_size=10, use_sde=True, **kw()),
        "ppo-box": PPO("MlpPolicy", SpaceEnv(OBS, ACT), n_steps=8, batch_size=8, **kw()),
        "ppo-discrete": PPO("MlpPolicy", SpaceEnv(OBS, gym.spaces.Discrete(4)), n_steps=8,
                            batch_size=8, **kw()),
        "ppo-gsde-squash": PPO("MlpPolicy", SpaceEnv(OBS, ACT), n_steps=8, batch_size=8,
                               use_sde=True, policy_kwargs={"net_arch": [8], "squash_output": True},
                               seed=0),
    }
    for model in models.values():
        perturb(model, scale=0.3)
    return models


def _sb3_samples(model: Any, obs: np.ndarray) -> np.ndarray:
    if model.use_sde:  # gSDE keeps one noise matrix until reset_noise(): draw a new one each time
        out = []
        for _ in range(N):
            model.policy.reset_noise()
            out.append(model.predict(obs, deterministic=False)[0])
        return np.asarray(out, dtype=np.float64).reshape(N, -1)
    actions, _ = model.predict(np.repeat(obs[None], N, axis=0), deterministic=False)
    return np.asarray(actions, dtype=np.float64).reshape(N, -1)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    tmp = tmp_path_factory.mktemp("stochastic")
    models = _models()
    obs = np.array([0.3, -0.5, 0.8], dtype=np.float32)
    calls = [PredictCall(export_policy(m, tmp / f"{name}.mat"), obs.astype(np.float64)[None],
                         options="'Deterministic', false", repeat=N, verify=False)
             for name, m in models.items()]
    outs = octave_predict_many(calls, tmp / "octave")
    return {name: (_sb3_samples(m, obs), out["action"])
            for (name, m), out in zip(models.items(), outs, strict=True)}


@pytest.mark.parametrize("name", ["sac", "sac-gsde", "ppo-box", "ppo-gsde-squash"])
def test_continuous_samples_match(samples: dict, name: str) -> None:
    ours_sb3, ours = samples[name]
    assert ours.shape == ours_sb3.shape == (N, 2)
    assert np.all(ours >= ACT.low - 1e-6) and np.all(ours <= ACT.high + 1e-6)
    spread = ours_sb3.std(axis=0)
    assert np.all(spread > 1e-3), "the test needs a distribution that is not a point"
    np.testing.assert_allclose(ours.mean(axis=0), ours_sb3.mean(axis=0),
                               atol=float(6 * spread.max() / np.sqrt(N)) + 1e-6)
    np.testing.assert_allclose(ours.std(axis=0), spread, rtol=0.1)
    assert len(np.unique(ours[:, 0])) > N // 2  # really sampled, not a constant


def test_discrete_samples_match(samples: dict) -> None:
    sb3, ours = samples["ppo-discrete"]
    freq = [np.bincount(a.astype(int).ravel(), minlength=4) / N for a in (sb3, ours)]
    assert set(np.unique(ours)) <= {0, 1, 2, 3}
    np.testing.assert_allclose(freq[1], freq[0], atol=0.06)  # ~4.6 sigma of the difference
    assert (freq[0] > 0.02).sum() >= 2, "the test needs more than one likely action"
