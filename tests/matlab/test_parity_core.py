"""Parity in Octave against SB3's own predict(): SAC, TD3/DDPG, PPO (issue: core).

All cases are exported first, then one Octave process runs them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from envs import SpaceEnv, box, fresh_observations, perturb
from octave import PredictCall, octave_predict_many
from stable_baselines3 import DDPG, PPO, SAC, TD3
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from sb3_matlab_callback import export_policy

OBS = box(-1.0, 1.0, shape=(5,))
UNBOUNDED = box(-np.inf, np.inf, shape=(4,))
ACT = box(-1.0, 1.0, shape=(2,))
ASYM = box([-3.0, 0.0, -0.5], [7.0, 10.0, 0.25])
DISCRETE = gym.spaces.Discrete(5)
ACTIVATIONS = [
    th.nn.ReLU, th.nn.Tanh, th.nn.ELU, th.nn.LeakyReLU, th.nn.SiLU, th.nn.GELU,
    th.nn.Sigmoid, th.nn.Softplus, th.nn.Hardtanh, th.nn.ReLU6, th.nn.SELU, th.nn.CELU,
    th.nn.Mish, th.nn.Softsign, th.nn.Hardsigmoid, th.nn.Hardswish, th.nn.LogSigmoid,
    th.nn.Tanhshrink, th.nn.Softshrink, th.nn.Hardshrink, th.nn.PReLU, th.nn.Identity,
]


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], Any]
    obs_space: gym.spaces.Box | None = None
    vec_normalize: bool = False

    @property
    def space(self) -> gym.spaces.Box:
        return OBS if self.obs_space is None else self.obs_space


def _model(algo: type, obs: gym.Space, act: gym.Space, **kwargs: Any) -> Any:
    kwargs.setdefault("policy_kwargs", {}).setdefault("net_arch", [16, 16])
    extra = {"n_steps": 16, "batch_size": 16} if algo is PPO else {"buffer_size": 100}
    model = algo("MlpPolicy", SpaceEnv(obs, act), seed=0, device="cpu", **extra, **kwargs)
    perturb(model)
    return model


def _cases() -> list[Case]:
    cases = [
        Case("sac-box", lambda: _model(SAC, OBS, ACT)),
        Case("sac-asymmetric", lambda: _model(SAC, UNBOUNDED, ASYM), UNBOUNDED),
        Case("sac-gsde", lambda: _model(SAC, OBS, ASYM, use_sde=True)),
        Case("sac-gsde-clip-mean-0.5", lambda: _model(
            SAC, OBS, ACT, use_sde=True, policy_kwargs={"clip_mean": 0.5, "net_arch": [8]})),
        Case("sac-gsde-no-clip-expln", lambda: _model(
            SAC, OBS, ASYM, use_sde=True,
            policy_kwargs={"clip_mean": 0.0, "use_expln": True})),
        Case("sac-net-arch-dict", lambda: _model(
            SAC, OBS, ACT, policy_kwargs={"net_arch": {"pi": [7, 5, 3], "qf": [4]}})),
        Case("sac-no-hidden", lambda: _model(SAC, OBS, ASYM, policy_kwargs={"net_arch": []})),
        Case("td3-box", lambda: _model(TD3, OBS, ASYM)),
        Case("td3-net-arch-dict", lambda: _model(
            TD3, UNBOUNDED, ACT, policy_kwargs={"net_arch": {"pi": [9], "qf": [3, 3]}}), UNBOUNDED),
        Case("ddpg-box", lambda: _model(DDPG, OBS, ASYM)),
        Case("ppo-box-clip", lambda: _model(PPO, UNBOUNDED, ASYM), UNBOUNDED),
        Case("ppo-discrete", lambda: _model(PPO, OBS, DISCRETE)),
        Case("ppo-net-arch-dict", lambda: _model(
            PPO, OBS, DISCRETE, policy_kwargs={"net_arch": {"pi": [12, 6], "vf": [3]}})),
        Case("ppo-gsde", lambda: _model(PPO, OBS, ASYM, use_sde=True)),
        Case("ppo-gsde-squash", lambda: _model(
            PPO, OBS, ASYM, use_sde=True, policy_kwargs={"squash_output": True})),
        Case("sac-vecnormalize", lambda: _model(SAC, UNBOUNDED, ASYM), UNBOUNDED, True),
        Case("ppo-vecnormalize-discrete", lambda: _model(PPO, UNBOUNDED, DISCRETE), UNBOUNDED, True),
    ]
    for index, act in enumerate(ACTIVATIONS):
        algo, action_space = [(SAC, ASYM), (PPO, DISCRETE), (TD3, ACT), (PPO, ASYM)][index % 4]
        cases.append(Case(f"activation-{act.__name__}-{algo.__name__}", lambda a=act, al=algo,
                          sp=action_space: _model(al, OBS, sp, policy_kwargs={"activation_fn": a})))
    return cases


CASES = _cases()


def _vec_normalize(space: gym.spaces.Box) -> VecNormalize:
    venv = VecNormalize(DummyVecEnv([lambda: SpaceEnv(space, ACT)]), clip_obs=2.5)
    rng = np.random.default_rng(3)
    venv.obs_rms.mean = rng.normal(size=space.shape) * 3
    venv.obs_rms.var = rng.uniform(0.1, 9.0, size=space.shape)
    return venv


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("parity")
    calls, expected = [], {}
    for index, case in enumerate(CASES):
        model = case.make()
        venv = _vec_normalize(case.space) if case.vec_normalize else None
        bundle = export_policy(model, tmp / f"{case.name}.mat", vec_normalize=venv)
        obs = fresh_observations(case.space, 40, seed=100 + index)
        sb3_obs = venv.normalize_obs(obs) if venv is not None else obs
        actions, _ = model.predict(sb3_obs, deterministic=True)
        expected[case.name] = (np.asarray(actions, dtype=np.float64).reshape(len(obs), -1),
                               isinstance(model.action_space, gym.spaces.Discrete))
        calls.append(PredictCall(bundle, obs.astype(np.float64)))
    outputs = octave_predict_many(calls, tmp / "octave")
    return {case.name: {"expected": expected[case.name][0],
                        "discrete": expected[case.name][1], **out}
            for case, out in zip(CASES, outputs, strict=True)}


@pytest.mark.octave
@pytest.mark.parametrize("case", [c.name for c in CASES])
def test_octave_matches_sb3_predict(results: dict[str, dict[str, Any]], case: str) -> None:
    res = results[case]
    assert "error" not in res, res.get("error")
    expected, action = res["expected"], res["action"]
    assert action.shape == expected.shape
    for got, want in ((action, expected), (res["single_row"], expected[:1]),
                      (res["single_col"], expected[:1])):
        if res["discrete"]:
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    assert res["err"].item() <= 1e-5


def test_cases_cover_the_issue_matrix() -> None:
    names = " ".join(c.name for c in CASES)
    for needle in ("sac-", "td3-", "ddpg-", "ppo-", "discrete", "asymmetric", "gsde",
                   "vecnormalize", "activation-"):
        assert needle in names
