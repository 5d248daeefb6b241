"""Frame stacking in the bundle (issue 11): sb3.predict takes single frames, SB3's VecFrameStack.

Each case runs a real ``VecFrameStack`` env for several steps across episode boundaries
(``done`` resets the stack), records the single frames the unwrapped env gave and SB3's
own ``predict`` on the stacked observations, then feeds the same frames and episode starts
to ``sb3.predict`` in Octave, carrying ``'State'``. All cases run in one Octave process.
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
from envs import perturb
from frame_stack_cases import ACT, CHW, CNN_KWARGS, DICT, FLAT, HWC
from frame_stack_cases import episode_envs as _base
from octave import run_octave
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.vec_env import (
    VecEnvWrapper,
    VecFrameStack,
    VecMonitor,
    VecNormalize,
    VecTransposeImage,
)

from sb3_matlab_callback import (
    MatlabExportCallback,
    UnsupportedError,
    export_policy,
    generate_matlab_function,
    load_bundle,
    register_passthrough_wrapper,
)


def _stats(venv: VecNormalize, seed: int = 3) -> VecNormalize:
    """Fixed, non-trivial statistics; ``training=False`` keeps them during the run."""
    rng = np.random.default_rng(seed)
    for stat in venv.obs_rms.values() if isinstance(venv.obs_rms, dict) else [venv.obs_rms]:
        stat.mean = rng.normal(size=stat.mean.shape)
        stat.var = rng.uniform(0.2, 4.0, size=stat.var.shape)
    venv.training = False
    return venv


def _newest(stacked: Any, frame_shape: tuple[int, ...], channels_first: bool) -> Any:
    """The newest frame of a raw stacked batch (the env's last observation)."""
    if channels_first:
        return stacked[:, -frame_shape[0]:]
    return stacked[..., -frame_shape[-1]:]


@dataclass
class Case:
    name: str
    make: Callable[[], tuple[Any, Any, Callable[[Any], Any]]]  # model, env, raw frames of the env
    steps: int = 14
    discrete: bool = False


def _ppo_inside() -> tuple[Any, Any, Callable[[Any], Any]]:
    inner = _stats(VecNormalize(_base(FLAT, ACT, (5, 7)), clip_obs=2.0))
    env = VecFrameStack(inner, 3)
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=16, policy_kwargs={"net_arch": [16]}, seed=0)
    return model, env, lambda obs: inner.get_original_obs()


def _recurrent_outside() -> tuple[Any, Any, Callable[[Any], Any]]:
    env = _stats(VecNormalize(VecFrameStack(_base(FLAT, ACT, (4, 6)), 2)))
    model = RecurrentPPO("MlpLstmPolicy", env, n_steps=16, batch_size=16, seed=0,
                         policy_kwargs={"net_arch": [8], "lstm_hidden_size": 6})
    return model, env, lambda obs: _newest(env.get_original_obs(), FLAT.shape, False)


def _cnn(space: gym.spaces.Box, lengths: tuple[int, ...]) -> Callable[[], tuple[Any, Any, Any]]:
    def make() -> tuple[Any, Any, Callable[[Any], Any]]:
        env = VecFrameStack(_base(space, gym.spaces.Discrete(3), lengths), 4)
        model = PPO("CnnPolicy", env, n_steps=16, batch_size=16, policy_kwargs=CNN_KWARGS, seed=0)
        first = space.shape[0] == 1
        return model, env, lambda obs: _newest(obs, space.shape, first)
    return make


def _dict_inside() -> tuple[Any, Any, Callable[[Any], Any]]:
    inner = _stats(VecNormalize(_base(DICT, ACT, (5,))))
    env = VecFrameStack(inner, 2)
    model = SAC("MultiInputPolicy", env, buffer_size=10, policy_kwargs={"net_arch": [8]}, seed=0)
    return model, env, lambda obs: inner.get_original_obs()


CASES = [
    Case("mlp-vecnormalize-inside", _ppo_inside),
    Case("recurrent-vecnormalize-outside", _recurrent_outside),
    Case("cnn-4-frames-channels-last", _cnn(HWC, (6, 9)), discrete=True),
    Case("cnn-4-frames-channels-first", _cnn(CHW, (7,)), steps=10, discrete=True),
    Case("dict-vecnormalize-inside", _dict_inside, steps=10),
]


def _run(model: Any, env: Any, raw: Callable[[Any], Any], steps: int) -> dict[str, Any]:
    """Step the real env; record single frames, episode starts and SB3's actions."""
    obs = env.reset()
    starts = np.ones(env.num_envs, dtype=bool)
    state = None
    frames, all_starts, actions = [], [], []
    for _ in range(steps):
        frames.append(raw(obs))
        all_starts.append(starts.copy())
        action, state = model.predict(obs, state=state, episode_start=starts, deterministic=True)
        actions.append(np.asarray(action, dtype=np.float64).reshape(env.num_envs, -1))
        obs, _, dones, _ = env.step(action)
        starts = dones
    assert np.any(np.concatenate(all_starts[1:])), "the run must cross an episode boundary"
    return {"frames": frames, "starts": np.array(all_starts, dtype=np.float64),
            "expected": np.stack(actions, axis=2)}


def _cell(items: list[Any]) -> np.ndarray:
    cell = np.empty((len(items), 1), dtype=object)
    for index, item in enumerate(items):
        cell[index, 0] = {k.replace("-", "_"): v for k, v in item.items()} \
            if isinstance(item, dict) else item
    return cell


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("frame_stack")
    runs, blocks = {}, []
    for index, case in enumerate(CASES):
        model, env, raw = case.make()
        perturb(model, seed=index)
        bundle = export_policy(model, tmp / f"{case.name}.mat", env=env)
        run = _run(model, env, raw, case.steps)
        runs[case.name] = run
        scipy.io.savemat(tmp / f"in_{index}.mat", {"bundle": str(bundle), "frames": _cell(run["frames"]),
                                                    "starts": run["starts"]}, long_field_names=True)
        blocks.append(f"""
r = struct();
try
  d = load('in_{index}.mat');
  p = sb3.load_policy(d.bundle);
  r.err = sb3.verify(p);
  state = [];
  for t = 1:numel(d.frames)
    [a, state] = sb3.predict(p, d.frames{{t}}, 'State', state, 'EpisodeStart', d.starts(t, :).');
    r.actions(:, :, t) = a;
  end
  r.fields = strjoin(fieldnames(state).', ',');
catch e
  r.error = [e.identifier ': ' e.message];
end
save('-v7', 'out_{index}.mat', '-struct', 'r');
""")
    run_octave("\n".join(blocks), tmp)
    out = {}
    for index, case in enumerate(CASES):
        got = scipy.io.loadmat(tmp / f"out_{index}.mat")
        out[case.name] = {**runs[case.name], **{k: v for k, v in got.items() if not k.startswith("__")},
                          "bundle": load_bundle(tmp / f"{case.name}.mat")}
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_single_frames_across_episode_boundaries_match_sb3(results: dict[str, Any], case: Case) -> None:
    result = results[case.name]
    assert "error" not in result, result.get("error")
    expected, actions = result["expected"], result["actions"].reshape(result["expected"].shape)
    if case.discrete:
        np.testing.assert_array_equal(actions, expected)
    else:
        np.testing.assert_allclose(actions, expected, rtol=0,
                                   atol=1e-5 * max(1.0, float(np.abs(expected).max())))
    assert float(np.ravel(result["err"])[0]) <= float(result["bundle"]["reference"]["atol"])


def test_the_state_carries_the_stack_and_the_lstm_state_together(results: dict[str, Any]) -> None:
    assert str(results["recurrent-vecnormalize-outside"]["fields"][0]) == "h,c,stack"
    assert str(results["mlp-vecnormalize-inside"]["fields"][0]) == "stack"


def test_bundle_records_the_stack_as_sb3_computes_it(results: dict[str, Any]) -> None:
    inside = results["mlp-vecnormalize-inside"]["bundle"]
    assert inside["frame_stack"]["n_stack"] == 3
    assert inside["frame_stack"]["inputs"]["normalize"] == 1 and inside["vec_normalize_source"] == "env"
    outside = results["recurrent-vecnormalize-outside"]["bundle"]
    assert outside["frame_stack"]["inputs"]["normalize"] == 0 and outside["inputs"]["normalize"] == 1
    last = results["cnn-4-frames-channels-last"]["bundle"]
    assert last["frame_stack"]["inputs"]["axis"] == 3 and last["inputs"]["layout"] == "HWC"
    first = results["cnn-4-frames-channels-first"]["bundle"]
    assert first["frame_stack"]["inputs"]["axis"] == 1 and first["inputs"]["layout"] == "CHW"
    keys = results["dict-vecnormalize-inside"]["bundle"]["frame_stack"]["inputs"]
    assert [item["field"] for item in keys] == ["a", "b_c"]


# --------------------------------------------------------------------------- refusals
class _Scale(VecEnvWrapper):
    """A user's wrapper that changes observations."""

    def reset(self) -> Any:
        return self.venv.reset() * 2

    def step_wait(self) -> Any:
        obs, rewards, dones, infos = self.venv.step_wait()
        return obs * 2, rewards, dones, infos


def _sac(env: Any) -> SAC:
    return SAC("MlpPolicy", env, buffer_size=10, learning_starts=1000, policy_kwargs={"net_arch": [8]},
               seed=0)


def test_a_wrapper_that_changes_observations_is_refused_at_export_naming_it(tmp_path: Path) -> None:
    model = _sac(VecFrameStack(_Scale(_base(FLAT, ACT, (5,))), 2))
    with pytest.raises(UnsupportedError, match=r"'_Scale'.*register_passthrough_wrapper"):
        export_policy(model, tmp_path / "x.mat")
    assert not (tmp_path / "x.mat").exists()


def test_a_declared_passthrough_wrapper_and_vec_monitor_are_accepted(tmp_path: Path) -> None:
    class Logging(VecEnvWrapper):
        def reset(self) -> Any:
            return self.venv.reset()

        def step_wait(self) -> Any:
            return self.venv.step_wait()

    register_passthrough_wrapper(Logging)
    model = _sac(VecMonitor(VecFrameStack(Logging(_base(FLAT, ACT, (5,))), 2)))
    bundle = load_bundle(export_policy(model, tmp_path / "x.mat"))
    assert bundle["frame_stack"]["n_stack"] == 2


def test_the_callback_refuses_an_unknown_wrapper_at_training_start(tmp_path: Path) -> None:
    model = _sac(_Scale(_base(FLAT, ACT, (5,))))
    callback = MatlabExportCallback(save_freq=1, save_path=tmp_path / "out")
    with pytest.raises(UnsupportedError, match="'_Scale'"):
        model.learn(2, callback=callback)
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_vec_transpose_image_inside_another_wrapper_is_refused(tmp_path: Path) -> None:
    env = VecFrameStack(VecTransposeImage(_base(HWC, ACT, (5,))), 2)
    model = PPO("CnnPolicy", env, n_steps=16, batch_size=16, policy_kwargs=CNN_KWARGS, seed=0)
    with pytest.raises(UnsupportedError, match="VecTransposeImage"):
        export_policy(model, tmp_path / "x.mat")


def test_generation_of_a_stacked_bundle_takes_frames_and_the_stack(tmp_path: Path) -> None:
    model = _sac(VecFrameStack(_base(FLAT, ACT, (5,)), 2))
    path = export_policy(model, tmp_path / "x.mat")
    text = generate_matlab_function(path, tmp_path / "gen").read_text()
    assert text.startswith("function [action, stack] = x_predict(frame, params, stack, episode_start)")


def test_vec_normalize_false_opts_out_of_the_frame_statistics(tmp_path: Path) -> None:
    inner = _stats(VecNormalize(_base(FLAT, ACT, (5,))))
    model = _sac(VecFrameStack(inner, 2))
    bundle = load_bundle(export_policy(model, tmp_path / "x.mat", vec_normalize=False))
    assert bundle["frame_stack"]["inputs"]["normalize"] == 0 and bundle["vec_normalize"] == 0


def test_the_callback_carries_the_stack_and_each_versions_frame_statistics(tmp_path: Path) -> None:
    inner = VecNormalize(_base(FLAT, ACT, (5, 6)))  # rl-zoo3's order: VecNormalize inside
    model = PPO("MlpPolicy", VecFrameStack(inner, 3), n_steps=8, batch_size=16,
                policy_kwargs={"net_arch": [8]}, seed=0)
    callback = MatlabExportCallback(save_freq=4, save_path=tmp_path / "out", background=False)
    model.learn(32, callback=callback)
    bundles = sorted((tmp_path / "out").glob("policy_v*.mat"))
    first, last = load_bundle(bundles[0]), load_bundle(bundles[-1])
    assert first["frame_stack"]["n_stack"] == 3 and first["frame_stack"]["inputs"]["normalize"] == 1
    np.testing.assert_allclose(last["frame_stack"]["inputs"]["mean"].ravel(), inner.obs_rms.mean)
    assert not np.allclose(first["frame_stack"]["inputs"]["mean"], last["frame_stack"]["inputs"]["mean"])
    header = (tmp_path / "out" / "matlab" / "policy_predict.m").read_text()
    assert f"Architecture fingerprint: {last['fingerprint']}" in header
    assert "(frame, params, stack, episode_start)" in header and "fs1_mean 1x4" in header
    run_octave(f"p = sb3.load_policy('{bundles[-1]}'); sb3.verify(p);", tmp_path)
