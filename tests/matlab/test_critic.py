"""The value side in MATLAB (issue 11): sb3.value and sb3.q_value against SB3's own networks.

Held-out observations (and, for continuous critics, actions in the env's action space) go
to ``policy.predict_values``, ``policy.critic(obs, policy.scale_action(action))`` and
``q_net(obs)`` in SB3, and to the bundle in Octave. All cases run in one Octave process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import scipy.io
import torch as th
from envs import SpaceEnv, box, fresh_observations, perturb
from octave import run_octave
from sb3_contrib import QRDQN, TQC, TRPO, CrossQ, MaskablePPO, RecurrentPPO
from stable_baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from sb3_matlab_callback import MatlabExportCallback, UnsupportedError, export_policy, load_bundle
from sb3_matlab_callback.cli import main as cli_main

OBS = box(-1.0, 1.0, shape=(5,))
ACT = box([-2.0, 0.0, -0.5], [2.0, 10.0, 0.25])
DISCRETE = gym.spaces.Discrete(4)
N = 24


def _env(action_space: gym.Space) -> SpaceEnv:
    return SpaceEnv(OBS, action_space)


def _off(algo: type, **kwargs: Any) -> Any:
    kwargs.setdefault("policy_kwargs", {}).setdefault("net_arch", [16, 8])
    return algo("MlpPolicy", _env(ACT), buffer_size=10, seed=0, **kwargs)


def _on(algo: type, action_space: gym.Space = ACT, policy: str = "MlpPolicy", **kwargs: Any) -> Any:
    kwargs.setdefault("policy_kwargs", {}).setdefault("net_arch", {"pi": [8], "vf": [16, 8]})
    if algo is not A2C:
        kwargs["batch_size"] = 16
    return algo(policy, _env(action_space), n_steps=16, seed=0, **kwargs)


def _dqn(algo: type, **kwargs: Any) -> Any:
    return algo("MlpPolicy", _env(DISCRETE), buffer_size=10, seed=0,
                policy_kwargs={"net_arch": [16], **kwargs})


def _lstm(**kwargs: Any) -> Any:
    return _on(RecurrentPPO, DISCRETE, "MlpLstmPolicy",
               policy_kwargs={"net_arch": [8], "lstm_hidden_size": 6, **kwargs})


@dataclass
class Case:
    name: str
    make: Callable[[], Any]
    kind: str  # value, q_continuous, q_discrete
    vec_normalize: bool = False


CASES = [
    Case("ppo", lambda: _on(PPO), "value"),
    Case("ppo-separate-extractor", lambda: _on(PPO, policy_kwargs={
        "net_arch": [8], "share_features_extractor": False}), "value"),
    Case("a2c-discrete-vecnormalize", lambda: _on(A2C, DISCRETE), "value", vec_normalize=True),
    Case("trpo", lambda: _on(TRPO), "value"),
    Case("maskable-ppo", lambda: _on(MaskablePPO, DISCRETE), "value"),
    Case("recurrent-ppo-critic-lstm", lambda: _lstm(), "value"),
    Case("recurrent-ppo-shared-lstm", lambda: _lstm(shared_lstm=True, enable_critic_lstm=False), "value"),
    Case("recurrent-ppo-no-critic-lstm", lambda: _lstm(enable_critic_lstm=False), "value"),
    Case("sac", lambda: _off(SAC), "q_continuous"),
    Case("sac-vecnormalize", lambda: _off(SAC, policy_kwargs={"n_critics": 3}), "q_continuous",
         vec_normalize=True),
    Case("td3", lambda: _off(TD3), "q_continuous"),
    Case("ddpg", lambda: _off(DDPG), "q_continuous"),
    Case("tqc", lambda: _off(TQC, policy_kwargs={"net_arch": [16], "n_quantiles": 7}), "q_continuous"),
    Case("crossq", lambda: _off(CrossQ, policy_kwargs={"net_arch": [16]}), "q_continuous"),
    Case("dqn", lambda: _dqn(DQN), "q_discrete"),
    Case("qrdqn", lambda: _dqn(QRDQN, n_quantiles=5), "q_discrete"),
]
STEPS = 3  # RecurrentPPO: a sequence of batches, the critic state carried, episode starts inside


def _vec_normalize() -> VecNormalize:
    venv = VecNormalize(DummyVecEnv([lambda: _env(ACT)]), clip_obs=3.0)
    rng = np.random.default_rng(5)
    venv.obs_rms.mean = rng.normal(size=OBS.shape)
    venv.obs_rms.var = rng.uniform(0.2, 4.0, size=OBS.shape)
    return venv


def _sb3_values(model: Any, kind: str, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """SB3's own networks on policy-side observations (one batch, or a sequence for LSTMs)."""
    policy = model.policy
    policy.set_training_mode(False)
    with th.no_grad():
        if kind == "q_continuous":
            scaled = th.as_tensor(policy.scale_action(actions), dtype=th.float32)
            q = policy.critic(policy.obs_to_tensor(obs)[0], scaled)
            q = q.mean(dim=2) if isinstance(q, th.Tensor) else th.cat(q, dim=1)
            return q.numpy()
        if kind == "q_discrete":
            tensor = policy.obs_to_tensor(obs)[0]
            if hasattr(policy, "quantile_net"):
                return policy.quantile_net(tensor).mean(dim=1).numpy()
            return policy.q_net(tensor).numpy()
        if not hasattr(policy, "lstm_actor"):
            return policy.predict_values(policy.obs_to_tensor(obs)[0]).numpy()
        return _sb3_recurrent_values(policy, obs)


def _sb3_recurrent_values(policy: Any, obs: np.ndarray) -> np.ndarray:
    """``predict_values`` step by step; the critic state as SB3's forward() carries it."""
    lstm = policy.lstm_critic or policy.lstm_actor
    state = (th.zeros(lstm.num_layers, N, lstm.hidden_size),) * 2
    out = []
    for step in range(STEPS):
        tensor = policy.obs_to_tensor(obs[step])[0]
        starts = th.as_tensor(_starts(step), dtype=th.float32)
        out.append(policy.predict_values(tensor, state, starts).numpy())
        if policy.lstm_critic is not None or policy.shared_lstm:
            features = policy.extract_features(tensor)
            features = features if isinstance(features, th.Tensor) else features[1]
            _, state = policy._process_sequence(features, state, starts, lstm)
    return np.stack(out)


def _starts(step: int) -> np.ndarray:
    starts = np.zeros(N)
    starts[step::4] = 1.0  # some rows start a new episode at each step
    return starts if step else np.ones(N)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("critic")
    rng = np.random.default_rng(11)
    blocks, expected = [], {}
    for index, case in enumerate(CASES):
        model = case.make()
        perturb(model, seed=index)
        venv = _vec_normalize() if case.vec_normalize else None
        bundle = export_policy(model, tmp / f"{case.name}.mat", vec_normalize=venv or False,
                               critic=True)
        recurrent = case.name.startswith("recurrent")
        obs = np.stack([fresh_observations(OBS, N, seed=100 + index + s) for s in range(STEPS)])
        actions = rng.uniform(ACT.low, ACT.high, size=(N, ACT.shape[0])).astype(np.float32)
        sb3_obs = venv.normalize_obs(obs) if venv is not None else obs
        expected[case.name] = _sb3_values(model, case.kind, sb3_obs if recurrent else sb3_obs[0],
                                          actions)
        scipy.io.savemat(tmp / f"in_{index}.mat", {
            "bundle": str(bundle), "obs": obs.astype(np.float64), "actions": actions.astype(np.float64),
            "starts": np.stack([_starts(s) for s in range(STEPS)])})
        if recurrent:
            call = """state = [];
  for s = 1:size(d.obs, 1)
    [v, state] = sb3.value(p, squeeze(d.obs(s, :, :)), 'State', state, 'EpisodeStart', d.starts(s, :));
    r.values(s, :, :) = v;
  end"""
        else:
            args = {"value": "sb3.value(p, x)", "q_continuous": "sb3.q_value(p, x, d.actions)",
                    "q_discrete": "sb3.q_value(p, x)"}[case.kind]
            call = f"x = squeeze(d.obs(1, :, :));\n  r.values = {args};"
        blocks.append(f"""
r = struct();
try
  d = load('in_{index}.mat');
  p = sb3.load_policy(d.bundle);
  r.err = sb3.verify(p);
  {call}
catch e
  r.error = [e.identifier ': ' e.message];
end
save('-v7', 'out_{index}.mat', '-struct', 'r');
""")
    run_octave("\n".join(blocks), tmp)
    return {case.name: {"expected": expected[case.name],
                        **scipy.io.loadmat(tmp / f"out_{index}.mat")}
            for index, case in enumerate(CASES)}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_critic_matches_sb3(results: dict[str, Any], case: Case) -> None:
    result = results[case.name]
    assert "error" not in result, result.get("error")
    expected = np.asarray(result["expected"], dtype=np.float64)
    values = np.asarray(result["values"], dtype=np.float64).reshape(expected.shape)
    assert values.shape[-1] == {"value": 1, "q_discrete": DISCRETE.n}.get(
        case.kind, expected.shape[-1])
    np.testing.assert_allclose(values, expected, rtol=0,
                               atol=1e-5 * max(1.0, float(np.abs(expected).max())))


def test_q_value_columns_are_one_per_critic(results: dict[str, Any]) -> None:
    assert np.asarray(results["sac-vecnormalize"]["values"]).shape == (N, 3)
    assert np.asarray(results["ddpg"]["values"]).shape == (N, 1)
    assert np.asarray(results["tqc"]["values"]).shape == (N, 2)


def test_runtime_errors_name_the_problem(tmp_path: Path) -> None:
    plain = export_policy(_off(SAC), tmp_path / "plain.mat")
    sac = export_policy(_off(SAC), tmp_path / "sac.mat", critic=True)
    ppo = export_policy(_on(PPO), tmp_path / "ppo.mat", critic=True)
    dqn = export_policy(_dqn(DQN), tmp_path / "dqn.mat", critic=True)
    script = f"""
    ids = {{}};
    calls = {{@() sb3.value(sb3.load_policy('{plain}'), zeros(1, 5)), ...
             @() sb3.q_value(sb3.load_policy('{plain}'), zeros(1, 5), zeros(1, 3)), ...
             @() sb3.value(sb3.load_policy('{sac}'), zeros(1, 5)), ...
             @() sb3.q_value(sb3.load_policy('{ppo}'), zeros(1, 5)), ...
             @() sb3.q_value(sb3.load_policy('{sac}'), zeros(1, 5)), ...
             @() sb3.q_value(sb3.load_policy('{dqn}'), zeros(1, 5), 1), ...
             @() sb3.q_value(sb3.load_policy('{sac}'), zeros(1, 5), zeros(1, 2)), ...
             @() sb3.q_value(sb3.load_policy('{sac}'), zeros(2, 5), zeros(3, 3)), ...
             @() sb3.value(sb3.load_policy('{ppo}'), zeros(1, 5), 'Deterministic', true)}};
    for k = 1:numel(calls)
      try
        calls{{k}}();
        ids{{k}} = 'none';
      catch e
        ids{{k}} = e.identifier;
      end
    end
    printf('%s\\n', strjoin(ids, ','));
    """
    out = run_octave(script, tmp_path).stdout.strip().splitlines()[-1]
    assert out.split(",") == [
        "sb3:value:noCritic", "sb3:q_value:noCritic", "sb3:value:wrongKind", "sb3:q_value:wrongKind",
        "sb3:q_value:wrongKind", "sb3:q_value:wrongKind", "sb3:q_value:badActionSize",
        "sb3:q_value:badActionSize", "sb3:value:badOption"]


def test_an_algorithm_without_a_critic_is_refused_at_export(tmp_path: Path) -> None:
    from sb3_contrib import ARS

    model = ARS("LinearPolicy", _env(ACT), seed=0)
    with pytest.raises(UnsupportedError, match="ARS"):
        export_policy(model, tmp_path / "ars.mat", critic=True)
    assert not (tmp_path / "ars.mat").exists()


def test_cli_export_with_critic(tmp_path: Path) -> None:
    model = _off(TD3)
    model.save(tmp_path / "td3.zip")
    assert cli_main(["export", str(tmp_path / "td3.zip"), str(tmp_path / "td3.mat"), "--algo", "TD3",
                     "--critic"]) == 0
    bundle = load_bundle(tmp_path / "td3.mat")
    assert bundle["critic"]["kind"] == "q_continuous" and bundle["critic"]["n_critics"] == 2


def test_callback_exports_the_critic_of_each_version(tmp_path: Path) -> None:
    model = SAC("MlpPolicy", "Pendulum-v1", buffer_size=200, learning_starts=20, seed=0,
                policy_kwargs={"net_arch": [8]})
    callback = MatlabExportCallback(save_freq=30, save_path=tmp_path / "out", critic=True)
    model.learn(60, callback=callback)
    bundles = sorted((tmp_path / "out").glob("policy_v*.mat"))
    assert len(bundles) >= 2
    first, last = load_bundle(bundles[0]), load_bundle(bundles[-1])
    assert first["critic"]["kind"] == "q_continuous"
    weights = [next(o["weight"] for o in b["critic"]["ops"] if o["op"] == "linear")
               for b in (first, last)]
    assert not np.allclose(*weights)  # the critics trained between the versions
    run_octave(f"for f = {{'{bundles[0]}', '{bundles[-1]}'}}, sb3.verify(sb3.load_policy(f{{1}})); end",
               tmp_path)
