"""The MATLAB side of delivery in real Octave: sb3.latest, sb3.poll, a concurrent reader,
VecNormalize parity per version, and the closed-loop Pendulum example (issue #3)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from delivery_helpers import (
    Moments,
    check_folder,
    one_torch_thread,  # noqa: F401 (a fixture)
    tiny_ppo,
    tiny_sac,
    train_command,
)
from octave import PredictCall, octave_predict_many, run_octave
from stable_baselines3 import TD3
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize

from sb3_matlab_callback import MatlabExportCallback, read_manifest
from sb3_matlab_callback.deliver.manifest import MANIFEST_NAME, encode_manifest

pytestmark = [pytest.mark.octave, pytest.mark.usefixtures("one_torch_thread")]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed folder: tiny SAC, versions 1..3 with keep_last=2 (so 2 and 3 listed)."""
    folder = tmp_path_factory.mktemp("delivery") / "run"
    model = tiny_sac(learning_starts=10_000)  # no update after the last step: no 4th export
    model.learn(300, callback=MatlabExportCallback(100, folder, keep_last=2))
    return folder


def _copy_run(run_folder: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    return folder


def _json_out(workdir: Path) -> dict[str, Any]:
    return json.loads((workdir / "out.json").read_text())


SAVE_JSON = "fid = fopen('out.json', 'w'); fprintf(fid, '%s', jsonencode(out)); fclose(fid);"


def test_octave_sha256_matches_hashlib_on_a_real_bundle(run_folder: Path, tmp_path: Path) -> None:
    bundle = run_folder / "policy_v000003.mat"
    assert b"\x00" in bundle.read_bytes() and max(bundle.read_bytes()) > 127  # binary content
    run_octave(f"""
    fid = fopen('{bundle}', 'r'); data = fread(fid, Inf, '*uint8'); fclose(fid);
    out = struct('hex', sb3.internal.sha256_hex(data));
    {SAVE_JSON}
    """, tmp_path)
    assert _json_out(tmp_path)["hex"] == hashlib.sha256(bundle.read_bytes()).hexdigest()


def test_latest_returns_the_newest_committed_bundle(run_folder: Path, tmp_path: Path) -> None:
    run_octave(f"""
    [path, entry] = sb3.latest('{run_folder}');
    out = struct('path', path, 'version', entry.version, 'steps', entry.num_timesteps, ...
                 'file', entry.file, 'sha', entry.sha256, 'bytes', entry.bytes);
    try
      sb3.latest('{tmp_path / "nothing"}');
    catch err
      out.missing = err.identifier;
    end
    {SAVE_JSON}
    """, tmp_path)
    out, latest = _json_out(tmp_path), read_manifest(run_folder)["checkpoints"][-1]
    assert out["path"] == str(run_folder / "policy_v000003.mat")
    assert (out["version"], out["steps"], out["file"]) == (3, 300, "policy_v000003.mat")
    assert (out["sha"], out["bytes"]) == (latest["sha256"], latest["bytes"])
    assert out["missing"] == "sb3:latest:noManifest"


def test_poll_loads_once_then_returns_the_same_policy_cheaply(run_folder: Path,
                                                              tmp_path: Path) -> None:
    run_octave(f"""
    out = struct();
    [p, out.updated_empty] = sb3.poll([], '{tmp_path / "nothing"}');
    out.empty = isempty(p);
    [p, out.updated_first] = sb3.poll([], '{run_folder}', 'Verify', true);
    out.version = p.version;
    p.marker = 42;  % a reload would drop this field
    tic;
    for k = 1:50
      [p, updated] = sb3.poll(p, '{run_folder}');
      assert(~updated);
    end
    out.seconds_per_poll = toc / 50;
    out.kept = isfield(p, 'marker');
    q = sb3.load_policy(fullfile('{run_folder}', 'policy_v000002.mat'), 'Precision', 'double');
    [q, out.updated_old] = sb3.poll(q, '{run_folder}');
    out.new_version = q.version;
    out.precision = q.precision;
    {SAVE_JSON}
    """, tmp_path)
    out = _json_out(tmp_path)
    assert out["empty"] and not out["updated_empty"]
    assert out["updated_first"] and out["version"] == 3
    assert out["kept"] and out["seconds_per_poll"] < 0.02
    assert out["updated_old"] and out["new_version"] == 3 and out["precision"] == "double"


def test_poll_survives_retention_removing_the_listed_file(run_folder: Path,
                                                          tmp_path: Path) -> None:
    """The manifest lists a file that retention already deleted; then the writer commits."""
    folder = _copy_run(run_folder, tmp_path)
    manifest = read_manifest(folder)
    good = encode_manifest(manifest)
    stale = json.loads(good)
    stale["checkpoints"].append({**stale["checkpoints"][-1], "version": 4,
                                 "file": "policy_v000004.mat"})
    stale["latest"] = 4
    if "next_version" in stale:
        stale["next_version"] = 5  # a valid manifest: next_version stays above latest
    (folder / MANIFEST_NAME).write_bytes(encode_manifest(stale))

    def commit_later() -> None:
        time.sleep(0.5)
        (folder / MANIFEST_NAME).write_bytes(good)  # the file never appears: manifest fixed

    thread = threading.Thread(target=commit_later)
    thread.start()
    run_octave(f"""
    lastwarn('');
    [p, updated] = sb3.poll([], '{folder}');
    out = struct('version', p.version, 'updated', updated, 'warning', lastwarn());
    {SAVE_JSON}
    """, tmp_path)
    thread.join()
    assert _json_out(tmp_path) == {"version": 3, "updated": True, "warning": ""}


def test_poll_never_returns_a_damaged_bundle(run_folder: Path, tmp_path: Path) -> None:
    folder = _copy_run(run_folder, tmp_path)
    target = folder / "policy_v000003.mat"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, different content
    target.write_bytes(bytes(data))
    run_octave(f"""
    p = sb3.load_policy(fullfile('{folder}', 'policy_v000002.mat'));
    [p, updated] = sb3.poll(p, '{folder}');
    [msg, id] = lastwarn();
    out = struct('version', p.version, 'updated', updated, 'warning', id);
    try
      sb3.latest('{folder}');
    catch err
      out.latest_error = err.identifier;
      out.latest_message = err.message;
    end
    {SAVE_JSON}
    """, tmp_path, timeout=120)
    out = _json_out(tmp_path)
    assert (out["version"], out["updated"], out["warning"]) == (2, False, "sb3:poll:unavailable")
    assert out["latest_error"] == "sb3:latest:unavailable"
    assert "sha256" in out["latest_message"]


READER = """
save_path = '{folder}';
done_file = '{done}';
out = struct('polls', 0, 'updates', 0, 'errors', 0, 'warnings', 0, 'versions', [], ...
             'messages', {{{{}}}});
obs = [0.3, -0.95, 1.5];
policy = [];
t0 = tic;
finished = false;
while toc(t0) < {limit}
  finished = finished || exist(done_file, 'file') == 2;
  try
    lastwarn('');
    [policy, updated] = sb3.poll(policy, save_path);
    out.polls = out.polls + 1;
    if ~isempty(lastwarn())
      out.warnings = out.warnings + 1;
      out.messages{{end + 1}} = lastwarn();
    end
    if updated
      sb3.verify(policy);
      out.updates = out.updates + 1;
      out.versions(end + 1) = policy.version;
    end
    if ~isempty(policy)
      a = sb3.predict(policy, obs);
      assert(isfinite(a) && abs(a) <= 2);
    end
  catch err
    out.errors = out.errors + 1;
    out.messages{{end + 1}} = [err.identifier ': ' err.message];
  end
  if finished
    break;
  end
end
out.final = -1;
if ~isempty(policy), out.final = policy.version; end
{save}
"""


def test_concurrent_reader_sees_many_updates_and_no_error(tmp_path: Path) -> None:
    """Octave polls and predicts in a loop while a training process exports every few steps."""
    folder, done = tmp_path / "run", tmp_path / "done.flag"
    trainer = subprocess.Popen(
        train_command(folder, "--timesteps", "1500", "--save-freq", "10", "--keep-last", "1",
                      "--done-file", str(done)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        script = READER.format(folder=folder, done=done, limit=150, save=SAVE_JSON)
        run_octave(script, tmp_path, timeout=200)
        output, _ = trainer.communicate(timeout=120)
    finally:
        trainer.kill()
    assert trainer.returncode == 0, output
    out = _json_out(tmp_path)
    assert out["errors"] == 0 and out["warnings"] == 0, out["messages"]
    seen = out["versions"] if isinstance(out["versions"], list) else [out["versions"]]
    assert out["updates"] >= 10, out
    assert seen == sorted(set(seen))  # only ever newer versions
    manifest = check_folder(folder)
    assert out["final"] == manifest["latest"] >= 150  # 1500 / 10 exports (+ the final one)
    assert len(manifest["checkpoints"]) == 1


class _Moments(Moments):
    """Record SB3's predict at each export moment, with that moment's VecNormalize stats."""

    def expected_at(self) -> tuple[np.ndarray, np.ndarray]:
        venv = self.model.get_vec_normalize_env()
        actions, _ = self.model.predict(venv.normalize_obs(self.observations), deterministic=True)
        return np.asarray(actions, np.float64), venv.obs_rms.mean.copy()


@pytest.mark.parametrize("algo", ["ppo", "sac", "sac-gsde", "td3"])
def test_vecnormalize_parity_of_every_version(tmp_path: Path, algo: str) -> None:
    """Each bundle carries the statistics of its own moment, consistent with its weights."""
    venv = VecNormalize(make_vec_env("Pendulum-v1", n_envs=2, seed=0), clip_obs=5.0)
    if algo == "ppo":
        model = tiny_ppo(venv)
    elif algo == "td3":
        model = TD3("MlpPolicy", venv, policy_kwargs={"net_arch": [16, 16]}, learning_starts=20,
                    seed=0, device="cpu")
    else:
        model = tiny_sac(venv, learning_starts=20, use_sde=algo == "sac-gsde")
    obs = np.random.default_rng(7).uniform(-9, 9, (40, 3)).astype(np.float32)
    moments = _Moments(40, obs)
    callback = MatlabExportCallback(40, tmp_path / "run")
    model.learn(300, callback=CallbackList([callback, moments]))
    manifest = check_folder(tmp_path / "run")
    assert len(manifest["checkpoints"]) >= 4
    entries = manifest["checkpoints"]
    assert entries[-1]["trigger"] == "training_end"  # the weights after the last update
    means = [moments.expected[e["num_timesteps"], e["trigger"]][1] for e in entries]
    assert not np.allclose(means[0], means[-1])  # statistics moved between versions
    calls = [PredictCall(tmp_path / "run" / e["file"], obs.astype(np.float64)) for e in entries]
    results = octave_predict_many(calls, tmp_path / "octave")
    for entry, result in zip(entries, results, strict=True):
        assert "error" not in result, result.get("error")
        expected = moments.expected[entry["num_timesteps"], entry["trigger"]][0]
        expected = expected.reshape(len(obs), -1)
        np.testing.assert_allclose(result["action"], expected, atol=2e-5, rtol=0)


def _python_returns(model: Any, starts: np.ndarray) -> list[float]:
    env = gym.make("Pendulum-v1")
    returns = []
    for th0, thdot0 in starts:
        obs, _ = env.reset(seed=0)
        env.unwrapped.state = np.array([th0, thdot0])
        obs = env.unwrapped._get_obs()
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


def test_closed_loop_example_runs_the_newest_policy_like_gymnasium(tmp_path: Path) -> None:
    folder = tmp_path / "pendulum"
    model = tiny_sac(learning_starts=100)
    model.learn(600, callback=MatlabExportCallback(200, folder, keep_last=2))
    starts = np.array([[2.5, 0.5], [-1.0, -0.8], [0.2, 0.9]])
    proc = run_octave(f"""
    addpath('{ROOT / "examples" / "matlab"}');
    initial_states = {np.array2string(starts, separator=',').replace('],', '];')};
    pendulum_closed_loop('{folder}', 'NumEpisodes', 3, 'InitialStates', initial_states);
    """, tmp_path, timeout=120)
    latest = read_manifest(folder)["latest"]  # 3 exports and the final weights
    assert latest == 4
    assert f"loaded version {latest} (num_timesteps 600)" in proc.stdout
    found = [float(x) for x in re.findall(rf"episode \d+: return (-?[\d.]+) \(policy version "
                                          rf"{latest}\)", proc.stdout)]
    assert len(found) == 3, proc.stdout
    np.testing.assert_allclose(found, _python_returns(model, starts), rtol=2e-3)


def test_example_training_script_delivers_and_verifies_in_octave(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_pendulum.py"), "--timesteps", "200",
         "--save-freq", "100", "--save-path", str(tmp_path / "pendulum")],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Training done: 200 timesteps, newest version 3" in proc.stdout  # 2 + final weights
    assert re.search(r"Octave: policy_v000003\.mat \(version 3, num_timesteps 200\) matches "
                     r"SB3 predict: max deviation [0-9.e-]+", proc.stdout), proc.stdout
