"""Generated functions of frame-stacked bundles against SB3's own VecFrameStack and predict().

Each case exports version 1 of a model trained on a ``VecFrameStack`` env, generates the
function from it, then changes the weights and the VecNormalize statistics as training
would and exports version 2. A real ``VecFrameStack`` env (episodes that end inside the
run) is stepped with version 2: SB3's ``predict`` on its stacked observations is the
expected action. The generated function gets the same single frames and episode starts,
one env at a time, carrying ``stack`` (and ``h``/``c``), with ``sb3.params`` of version 2.
Its final ``stack`` is SB3's own stack of that env. All cases run in one Octave process.
"""

from __future__ import annotations

import shutil
import subprocess
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
from stable_baselines3.common.vec_env import VecFrameStack, VecNormalize

from sb3_matlab_callback import export_policy, generate_matlab_function, load_bundle
from sb3_matlab_callback.generate import load_program_spec


def _stats(venv: VecNormalize | None, seed: int) -> None:
    """Set non-trivial statistics; ``training=False`` keeps them during the run."""
    if venv is None:
        return
    rng = np.random.default_rng(seed)
    for stat in venv.obs_rms.values() if isinstance(venv.obs_rms, dict) else [venv.obs_rms]:
        stat.mean = rng.normal(size=stat.mean.shape)
        stat.var = rng.uniform(0.2, 4.0, size=stat.var.shape)
    venv.training = False


@dataclass
class Case:
    name: str
    #: model, the env to step, its VecNormalize (or None), its VecFrameStack
    make: Callable[[], tuple[Any, Any, VecNormalize | None, VecFrameStack]]
    steps: int = 14
    discrete: bool = False
    recurrent: bool = False


def _mlp_inside() -> tuple[Any, Any, Any, Any]:
    inner = VecNormalize(_base(FLAT, ACT, (5, 7)), clip_obs=2.0)
    env = VecFrameStack(inner, 3)
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=16, policy_kwargs={"net_arch": [16]}, seed=0)
    return model, env, inner, env


def _mlp_outside() -> tuple[Any, Any, Any, Any]:
    stack = VecFrameStack(_base(FLAT, ACT, (4, 6)), 3)
    env = VecNormalize(stack)
    model = SAC("MlpPolicy", env, buffer_size=10, policy_kwargs={"net_arch": [8]}, seed=0)
    return model, env, env, stack


def _recurrent_outside() -> tuple[Any, Any, Any, Any]:
    stack = VecFrameStack(_base(FLAT, ACT, (4, 6)), 2)
    env = VecNormalize(stack)
    model = RecurrentPPO("MlpLstmPolicy", env, n_steps=16, batch_size=16, seed=0,
                         policy_kwargs={"net_arch": [8], "lstm_hidden_size": 6})
    return model, env, env, stack


def _cnn(space: gym.spaces.Box, lengths: tuple[int, ...]) -> Callable[[], tuple[Any, ...]]:
    def make() -> tuple[Any, Any, Any, Any]:
        env = VecFrameStack(_base(space, gym.spaces.Discrete(3), lengths), 4)
        model = PPO("CnnPolicy", env, n_steps=16, batch_size=16, policy_kwargs=CNN_KWARGS, seed=0)
        return model, env, None, env
    return make


def _dict_inside() -> tuple[Any, Any, Any, Any]:
    inner = VecNormalize(_base(DICT, ACT, (5,)))
    env = VecFrameStack(inner, 2)
    model = SAC("MultiInputPolicy", env, buffer_size=10, policy_kwargs={"net_arch": [8]}, seed=0)
    return model, env, inner, env


CASES = [
    Case("mlp-vecnormalize-inside", _mlp_inside),
    Case("mlp-vecnormalize-outside", _mlp_outside),
    Case("recurrent-vecnormalize-outside", _recurrent_outside, recurrent=True),
    Case("cnn-4-frames-channels-last", _cnn(HWC, (6, 9)), discrete=True),
    Case("cnn-4-frames-channels-first", _cnn(CHW, (7,)), steps=10, discrete=True),
    Case("dict-vecnormalize-inside", _dict_inside, steps=10),
]


def _one(value: Any, j: int, space: gym.Space) -> Any:
    """Env ``j``'s frame (or stack) in MATLAB's shape: a row for a vector, else as it is."""
    if isinstance(value, dict):
        return {key.replace("-", "_"): _one(v, j, space[key]) for key, v in value.items()}
    item = np.asarray(value[j], dtype=np.float64)
    return item.reshape(1, -1) if item.ndim == 1 else item


def _sb3_stack(stack: VecFrameStack) -> Any:
    stacked = stack.stacked_obs
    if isinstance(stack.observation_space, gym.spaces.Dict):
        return {key: np.array(sub.stacked_obs) for key, sub in stacked.sub_stacked_observations.items()}
    return np.array(stacked.stacked_obs)


def _run(model: Any, env: Any, stack: VecFrameStack, steps: int) -> dict[str, Any]:
    """Step the real env; record single frames, episode starts, SB3's actions and final stacks."""
    frame_space = stack.venv.observation_space
    raw_frames: list[Any] = []
    stack.venv.step_wait = _recording(stack.venv, raw_frames)  # the frames before stacking
    stack.venv.reset = _recording(stack.venv, raw_frames, reset=True)
    obs = env.reset()
    starts = np.ones(env.num_envs, dtype=bool)
    state = None
    frames, all_starts, actions = [], [], []
    for _ in range(steps):
        frames.append([_one(raw_frames[-1], j, frame_space) for j in range(env.num_envs)])
        all_starts.append(starts.copy())
        action, state = model.predict(obs, state=state, episode_start=starts, deterministic=True)
        actions.append(np.asarray(action, dtype=np.float64).reshape(env.num_envs, -1))
        final = [_one(_sb3_stack(stack), j, stack.observation_space) for j in range(env.num_envs)]
        obs, _, dones, _ = env.step(action)
        starts = dones
    assert np.any(np.array(all_starts[1:])), "the run must cross an episode boundary"
    cell = np.empty((steps, env.num_envs), dtype=object)
    for t, row in enumerate(frames):
        for j, frame in enumerate(row):
            cell[t, j] = frame
    finals = np.empty((1, env.num_envs), dtype=object)
    for j, item in enumerate(final):
        finals[0, j] = item
    return {"frames": cell, "starts": np.array(all_starts, dtype=np.float64),
            "expected": np.stack(actions), "final": final, "finals": finals}


def _recording(venv: Any, sink: list[Any], reset: bool = False) -> Callable[..., Any]:
    """Wrap ``venv.reset``/``step_wait`` to keep a copy of each raw frame batch."""
    inner = venv.reset if reset else venv.step_wait

    def call(*args: Any, **kwargs: Any) -> Any:
        out = inner(*args, **kwargs)
        obs = out if reset else out[0]
        original = venv.get_original_obs() if isinstance(venv, VecNormalize) else obs
        sink.append({k: np.array(v) for k, v in original.items()} if isinstance(original, dict)
                    else np.array(original))
        return out
    return call


def _block(index: int, case: Case, name: str, num_envs: int) -> str:
    if case.recurrent:
        call = f"[a, h, c, stack] = {name}(d.frames{{t, j}}, params, h, c, stack, start);"
    else:
        call = f"[a, stack] = {name}(d.frames{{t, j}}, params, stack, start);"
    return f"""
r = struct();
try
  d = load('in_{index}.mat');
  params = sb3.params(sb3.load_policy(d.bundle), d.fingerprint);
  r.actions = zeros({case.steps}, {num_envs}, size(d.expected, 3));
  for j = 1:{num_envs}
    stack = d.stack0;
    h = zeros(size(d.h0));
    c = zeros(size(d.h0));
    for t = 1:{case.steps}
      start = logical(d.starts(t, j));
      {call}
      r.actions(t, j, :) = reshape(a, 1, 1, []);
    end
    r.(sprintf('stack%d', j)) = stack;
  end
catch e
  r.error = [e.identifier ': ' e.message];
end
save('-v7', 'out_{index}.mat', '-struct', 'r');
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("generate_frame_stack")
    blocks, runs, files = [], {}, []
    for index, case in enumerate(CASES):
        model, env, venv, stack = case.make()
        _stats(venv, seed=3 + index)
        perturb(model, seed=index)
        first = export_policy(model, tmp / f"{case.name}_v000001.mat", env=env)
        name = f"stacked{index}_predict"
        files.append(generate_matlab_function(first, tmp, name=name))
        perturb(model, scale=0.3, seed=100 + index)  # a later version of the same architecture
        _stats(venv, seed=50 + index)
        later = export_policy(model, tmp / f"{case.name}_v000002.mat", env=env, version=2)
        run = _run(model, env, stack, case.steps)
        spec = load_program_spec(later)
        zeros = {s.field: np.zeros(s.stacked_dims) for s in spec.stacks} if spec.is_dict \
            else np.zeros(spec.stacks[0].stacked_dims)
        fingerprints = (load_bundle(first)["fingerprint"], load_bundle(later)["fingerprint"])
        runs[case.name] = {**run, "fingerprints": fingerprints}
        scipy.io.savemat(tmp / f"in_{index}.mat", {
            "bundle": str(later), "fingerprint": fingerprints[0], "frames": run["frames"],
            "starts": run["starts"], "expected": run["expected"], "stack0": zeros,
            "h0": np.zeros(spec.lstm or (1, 1))}, long_field_names=True)
        blocks.append(_block(index, case, name, env.num_envs))
    run_octave("\n".join(blocks), tmp, timeout=1200)
    for index, case in enumerate(CASES):
        runs[case.name].update(scipy.io.loadmat(tmp / f"out_{index}.mat", simplify_cells=True))
    return {"runs": runs, "files": files, "folder": tmp}


@pytest.mark.octave
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_generated_function_with_a_stack_matches_sb3_across_episodes(generated: dict[str, Any],
                                                                    case: Case) -> None:
    res = generated["runs"][case.name]
    assert "error" not in res, res["error"]
    first, later = res["fingerprints"]
    assert first == later, "one architecture, one fingerprint across versions"
    expected = res["expected"]
    got = np.asarray(res["actions"], dtype=np.float64).reshape(expected.shape)
    if case.discrete:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=0,
                                   atol=1e-5 * max(1.0, float(np.abs(expected).max())))
    # The stack returned is SB3's own stack of that env (float32 there), in MATLAB's shape.
    for j, want in enumerate(res["final"], start=1):
        got_stack = res[f"stack{j}"]
        if isinstance(want, dict):
            for key, value in want.items():
                np.testing.assert_allclose(np.reshape(got_stack[key], value.shape), value,
                                           atol=1e-6, rtol=1e-6)
        else:
            np.testing.assert_allclose(np.reshape(got_stack, want.shape), want, atol=1e-6,
                                       rtol=1e-6)


def test_the_fingerprint_covers_the_stack(tmp_path: Path) -> None:
    def fingerprint(n_stack: int, inside: bool) -> str:
        base = _base(FLAT, ACT, (5,))
        env = VecFrameStack(VecNormalize(base), n_stack) if inside else \
            VecNormalize(VecFrameStack(base, n_stack))
        model = SAC("MlpPolicy", env, buffer_size=10, policy_kwargs={"net_arch": [8]}, seed=0)
        return load_bundle(export_policy(model, tmp_path / "x.mat", env=env))["fingerprint"]

    found = {fingerprint(2, True), fingerprint(2, False), fingerprint(3, True)}
    assert len(found) == 3


def test_signature_and_help_of_a_stacked_function(generated: dict[str, Any]) -> None:
    lines = {path.stem: path.read_text().splitlines() for path in generated["files"]}
    assert lines["stacked0_predict"][0] == \
        "function [action, stack] = stacked0_predict(frame, params, stack, episode_start)"
    assert lines["stacked2_predict"][0] == ("function [action, h, c, stack] = stacked2_predict("
                                            "frame, params, h, c, stack, episode_start)")
    text = "\n".join(lines["stacked3_predict"])
    assert "stack = zeros([36 36 4]);" in text and "frame = zeros([36 36 1]);" in text
    assert "zero-fills" in text
    for path in generated["files"]:
        code = "\n".join(line for line in path.read_text().splitlines()
                         if not line.lstrip().startswith("%"))
        for forbidden in ("eval", "load(", "cell", "@", "try", "jsondecode", ".("):
            assert forbidden not in code, (path.name, forbidden)


@pytest.mark.octave
def test_stacked_files_pass_mh_lint_and_mh_style(generated: dict[str, Any], tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    for tool in ("mh_lint", "mh_style"):
        exe = shutil.which(tool)
        if exe is None:
            pytest.skip(f"{tool} (MISS_HIT) is not installed")
    for path in generated["files"]:
        shutil.copy(path, tmp_path / path.name)
    shutil.copy(root / "miss_hit.cfg", tmp_path / "miss_hit.cfg")
    for tool in ("mh_lint", "mh_style"):
        proc = subprocess.run([shutil.which(tool) or tool, "--brief", str(tmp_path)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
