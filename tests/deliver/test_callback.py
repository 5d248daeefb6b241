"""MatlabExportCallback in a real SB3 training loop (issue #3).

Counting, the export at training end, retention, resume numbering, the flush before
``learn()`` returns, logging, start-time checks, the folder lock, EvalCallback's best
export and the ``on_error`` behaviour under injected and real write faults.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from delivery_helpers import (
    check_folder,
    one_torch_thread,  # noqa: F401 (a fixture)
    stray_files,
    tiny_ppo,
    tiny_sac,
    versions,
)
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, EvalCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.sac.policies import SACPolicy

from sb3_matlab_callback import (
    ExportFolderError,
    ExportWarning,
    ManifestError,
    MatlabExportCallback,
    UnsupportedError,
    load_bundle,
    matlab_path,
    read_manifest,
)
from sb3_matlab_callback.deliver.manifest import MANIFEST_NAME
from sb3_matlab_callback.deliver.writer import FolderLock, atomic_write_bytes

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.usefixtures("one_torch_thread")]


def untrained_sac(**kwargs: Any) -> Any:
    """SAC that never updates its weights here: exports happen only where counted."""
    return tiny_sac(learning_starts=100_000, **kwargs)


def _timesteps(folder: Path) -> list[int]:
    manifest = check_folder(folder)
    return [c["num_timesteps"] for c in manifest["checkpoints"]]


# --- counting, training end, retention, resume -------------------------------------------


def test_exports_every_save_freq_calls_and_once_more_at_training_end(tmp_path: Path) -> None:
    model = untrained_sac()
    model.learn(450, callback=MatlabExportCallback(100, tmp_path / "run"))
    assert versions(tmp_path / "run") == [1, 2, 3, 4, 5]
    assert _timesteps(tmp_path / "run") == [100, 200, 300, 400, 450]


def test_no_duplicate_when_the_last_checkpoint_fell_on_the_last_timestep(tmp_path: Path) -> None:
    model = untrained_sac()
    model.learn(400, callback=MatlabExportCallback(100, tmp_path / "run"))
    assert _timesteps(tmp_path / "run") == [100, 200, 300, 400]
    triggers = [c["trigger"] for c in read_manifest(tmp_path / "run")["checkpoints"]]
    assert triggers == ["save_freq"] * 4


def test_final_export_holds_the_weights_learn_returns(tmp_path: Path) -> None:
    """PPO updates its weights after the last step callback: that policy is exported too."""
    model = tiny_ppo(n_steps=32)
    model.learn(64, callback=MatlabExportCallback(32, tmp_path / "run"))
    manifest = check_folder(tmp_path / "run")
    assert [(c["num_timesteps"], c["trigger"]) for c in manifest["checkpoints"]] == [
        (32, "save_freq"), (64, "save_freq"), (64, "training_end")]
    final = load_bundle(tmp_path / "run" / manifest["checkpoints"][-1]["file"])
    before = load_bundle(tmp_path / "run" / manifest["checkpoints"][-2]["file"])
    reference = final["reference"]
    actions, _ = model.predict(reference["observations"], deterministic=True)
    np.testing.assert_allclose(np.ravel(reference["actions"]), np.ravel(actions), atol=1e-6)
    assert not np.allclose(before["reference"]["actions"], reference["actions"])


def test_save_freq_counts_calls_like_checkpoint_callback_with_several_envs(tmp_path: Path) -> None:
    from stable_baselines3.common.env_util import make_vec_env

    model = tiny_ppo(make_vec_env("Pendulum-v1", n_envs=2, seed=0), n_steps=32)
    model.learn(200, callback=MatlabExportCallback(25, tmp_path / "run"))
    # 25 calls = 50 timesteps; PPO's last rollout ends at 256 timesteps
    assert _timesteps(tmp_path / "run") == [50, 100, 150, 200, 250, 256]


def test_retention_keeps_only_the_newest_files(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    untrained_sac().learn(500, callback=MatlabExportCallback(100, folder, keep_last=2))
    assert versions(folder) == [4, 5]
    assert sorted(p.name for p in folder.glob("*.mat")) == ["policy_v000004.mat",
                                                             "policy_v000005.mat"]
    assert stray_files(folder) == set()


def test_numbering_continues_on_resume(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    model = untrained_sac()
    callback = MatlabExportCallback(100, folder, keep_last=3)
    model.learn(200, callback=callback)
    model.learn(200, callback=callback, reset_num_timesteps=False)  # same callback
    assert versions(folder) == [2, 3, 4]
    assert _timesteps(folder) == [200, 300, 400]
    fresh = untrained_sac()  # a new model and callback, as a new process would have
    fresh.learn(100, callback=MatlabExportCallback(100, folder, keep_last=3))
    assert versions(folder) == [3, 4, 5]
    assert _timesteps(folder)[-1] == 100
    assert stray_files(folder) == set()


def test_pending_writes_are_flushed_before_learn_returns(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    written: list[str] = []

    def slow_write(path: Path, data: bytes, **kwargs: Any) -> None:
        time.sleep(0.15)
        atomic_write_bytes(path, data, **kwargs)
        written.append(Path(path).name)

    callback = MatlabExportCallback(50, folder, max_pending=8)
    callback._write_file = slow_write
    untrained_sac().learn(200, callback=callback)
    # 4 exports x (bundle + manifest) x 0.15 s could not have finished during training
    assert written[-2:] == ["policy_v000004.mat", MANIFEST_NAME]
    assert _timesteps(folder) == [50, 100, 150, 200]
    assert callback._writer is None and not callback.export_folder.is_open
    FolderLock.acquire(folder).release()  # released
    assert stray_files(folder) == set()


def test_runtime_is_copied_into_the_export_folder(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    untrained_sac().learn(50, callback=MatlabExportCallback(100, folder))
    source = sorted(p.relative_to(matlab_path()) for p in matlab_path().rglob("*.m"))
    copied = sorted(p.relative_to(folder / "matlab") for p in (folder / "matlab").rglob("*.m"))
    assert copied == sorted([*source, Path("policy_predict.m")])  # + the generated function
    for rel in source:
        assert (folder / "matlab" / rel).read_bytes() == (matlab_path() / rel).read_bytes()
    assert {"latest.m", "poll.m", "load_policy.m"} <= {p.name for p in source}


# --- manifest content, logging, verbose ---------------------------------------------------


def test_manifest_records_run_metadata_and_ep_rew_mean(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    untrained_sac().learn(450, callback=MatlabExportCallback(200, folder))
    manifest = check_folder(folder)
    run = manifest["run"]
    assert run["algorithm"] == manifest["algorithm"] == "SAC"
    assert run["env_id"] == "Pendulum-v1" and run["n_envs"] == 1
    assert run["sb3_version"] and run["torch_version"] and run["python_version"]
    assert run["observation_space"].startswith("Box(") and run["vec_normalize"] is False
    first, *_, last = manifest["checkpoints"]
    assert first["ep_rew_mean"] is None  # no episode finished after 200 steps... yet
    assert isinstance(last["ep_rew_mean"], float) and last["ep_rew_mean"] < 0
    for entry in manifest["checkpoints"]:
        data = (folder / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)


def test_logger_records_version_and_export_time(tmp_path: Path) -> None:
    model = tiny_ppo(n_steps=32)
    model.set_logger(configure(str(tmp_path / "log"), ["csv"]))
    # committed in the step, so each rollout's log row shows its own export
    model.learn(160, callback=MatlabExportCallback(32, tmp_path / "run", background=False))
    with open(tmp_path / "log" / "progress.csv") as handle:
        rows = list(csv.DictReader(handle))
    logged = [int(float(r["matlab_export/version"])) for r in rows if r["matlab_export/version"]]
    assert logged == [1, 2, 3, 4, 5]
    times = [float(r["matlab_export/export_time"]) for r in rows if r["matlab_export/export_time"]]
    assert all(0 < t < 10 for t in times)
    assert any(r["matlab_export/stall_ms"] for r in rows)


def test_verbose_1_prints_one_line_per_export(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    untrained_sac().learn(300, callback=MatlabExportCallback(100, tmp_path / "run", verbose=1))
    lines = [line for line in capsys.readouterr().out.splitlines() if "MatlabExportCallback" in line]
    assert len(lines) == 3
    assert "policy_v000003.mat" in lines[-1] and "num_timesteps=300" in lines[-1]


# --- checks at training start -------------------------------------------------------------


class _CustomPolicy(SACPolicy):
    """A user's subclass: its forward may differ, so it is refused."""


def test_unsupported_model_fails_before_the_first_step(tmp_path: Path) -> None:
    model = tiny_sac()
    model.policy.__class__ = _CustomPolicy
    with pytest.raises(UnsupportedError, match="_CustomPolicy"):
        model.learn(100, callback=MatlabExportCallback(10, tmp_path / "run"))
    assert model.num_timesteps == 0
    assert not (tmp_path / "run").exists()  # nothing written


@pytest.mark.parametrize(("save_freq", "kwargs", "message"), [
    (0, {}, "save_freq"),
    (10, {"keep_last": 0}, "keep_last"),
    (10, {"on_error": "ignore"}, "on_error"),
    (10, {"name_prefix": "../x"}, "name_prefix"),
])
def test_bad_arguments_fail_at_construction(tmp_path: Path, save_freq: int,
                                            kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MatlabExportCallback(save_freq, tmp_path, **kwargs)


def test_corrupt_manifest_is_refused_and_never_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    untrained_sac().learn(100, callback=MatlabExportCallback(100, folder))
    (folder / MANIFEST_NAME).write_text('{"format": "sb3-matlab-manifest", "trunc')
    before = (folder / MANIFEST_NAME).read_bytes()
    model = untrained_sac()
    with pytest.raises(ManifestError, match="not valid JSON") as info:
        model.learn(100, callback=MatlabExportCallback(100, folder))
    assert str(folder / MANIFEST_NAME) in str(info.value)
    assert (folder / MANIFEST_NAME).read_bytes() == before
    assert model.num_timesteps == 0


def test_another_algorithm_in_the_same_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    untrained_sac().learn(100, callback=MatlabExportCallback(100, folder))
    with pytest.raises(ExportFolderError, match="holds SAC checkpoints; this model is PPO"):
        tiny_ppo().learn(64, callback=MatlabExportCallback(32, folder))
    assert versions(folder) == [1]


def test_a_second_concurrent_writer_fails_fast_naming_the_holder(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom sb3_matlab_callback.deliver.writer import FolderLock\n"
         f"lock = FolderLock.acquire({str(folder)!r})\nprint('locked', flush=True)\n"
         "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        model = untrained_sac()
        with pytest.raises(ExportFolderError, match=rf"in use by another writer \(PID {holder.pid}"):
            model.learn(100, callback=MatlabExportCallback(10, folder))
        assert model.num_timesteps == 0 and not (folder / MANIFEST_NAME).exists()
    finally:
        holder.kill()
        holder.wait()


def test_two_callbacks_on_one_folder_in_one_process(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    first = MatlabExportCallback(1, folder)
    eval_cb = EvalCallback(gym.make("Pendulum-v1"), eval_freq=1000, callback_on_new_best=first)
    model = untrained_sac()
    model.learn(10, callback=eval_cb)  # child callbacks keep the folder until close() ...
    with pytest.raises(ExportFolderError, match=f"PID {os.getpid()}, this process"):
        FolderLock.acquire(folder)
    # ... or until a later learn() in this thread takes it over: that learn() is over
    untrained_sac().learn(10, callback=MatlabExportCallback(5, folder))
    assert not first.export_folder.is_open
    first.close()  # idempotent
    untrained_sac().learn(10, callback=MatlabExportCallback(5, folder))
    assert versions(folder) == [1, 2, 3, 4]


# --- EvalCallback best-model export -------------------------------------------------------


def test_eval_callback_exports_each_new_best(tmp_path: Path) -> None:
    folder = tmp_path / "best"
    best = MatlabExportCallback(1, folder)
    eval_cb = EvalCallback(gym.make("Pendulum-v1"), eval_freq=100, n_eval_episodes=1,
                           callback_on_new_best=best, log_path=str(tmp_path / "eval"))
    model = tiny_sac(learning_starts=20)
    model.learn(500, callback=eval_cb)
    evaluations = np.load(tmp_path / "eval" / "evaluations.npz")
    expected, best_reward = [], -np.inf
    for steps, results in zip(evaluations["timesteps"], evaluations["results"], strict=True):
        if np.mean(results) > best_reward:
            best_reward = np.mean(results)
            expected.append(int(steps))
    # committed before learn() returned (no close() yet), no extra export at training end
    assert _timesteps(folder) == expected
    assert versions(folder) == list(range(1, len(expected) + 1))
    best.close()
    assert stray_files(folder) == set()


# --- on_error: injected faults (hook) -----------------------------------------------------


def _failing_writer(fail: set[str], code: int = errno.ENOSPC) -> Any:
    def write(path: Path, data: bytes, **kwargs: Any) -> None:
        if Path(path).name in fail:
            raise OSError(code, os.strerror(code), str(path))
        atomic_write_bytes(path, data, **kwargs)

    return write


def test_disk_full_with_warn_keeps_training_and_the_manifest(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    callback = MatlabExportCallback(100, folder, on_error="warn")
    callback._write_file = _failing_writer({"policy_v000002.mat", "policy_v000003.mat"})
    model = untrained_sac()
    with pytest.warns(ExportWarning, match="No space left on device") as record:
        model.learn(500, callback=callback)
    assert len(record) == 2 and "version 2" in str(record[0].message)
    assert model.num_timesteps == 500
    assert versions(folder) == [1, 4, 5]
    assert _timesteps(folder) == [100, 400, 500]
    assert len(callback.errors) == 2 and stray_files(folder) == set()


class _FlushAt(BaseCallback):
    """Wait for the export writer at call ``at``: its outcome is then known to the next step."""

    def __init__(self, export: MatlabExportCallback, at: int) -> None:
        super().__init__()
        self.export, self.at = export, at

    def _on_step(self) -> bool:
        if self.n_calls == self.at:
            self.export._writer.flush()
        return True


class _FlushEach(BaseCallback):
    """Wait for the export writer at every call: no two exports share a group commit."""

    def __init__(self, export: MatlabExportCallback) -> None:
        super().__init__()
        self.export = export

    def _on_step(self) -> bool:
        if self.export._writer is not None:
            self.export._writer.flush()
        return True


def test_disk_full_with_raise_stops_at_the_next_step(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    callback = MatlabExportCallback(100, folder, on_error="raise")
    callback._write_file = _failing_writer({"policy_v000002.mat"})
    model = untrained_sac()
    with pytest.raises(ExportFolderError, match="could not export version 2") as info:
        model.learn(1000, callback=CallbackList([callback, _FlushAt(callback, 250)]))
    assert info.value.errno == errno.ENOSPC
    assert isinstance(info.value.__cause__, OSError)
    assert 200 < model.num_timesteps <= 251  # at the latest, the step after it was known
    assert versions(folder) == [1] and stray_files(folder) == set()
    FolderLock.acquire(folder).release()  # the folder was released before raising


def test_failed_manifest_write_leaves_no_orphan_bundle(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    calls = {"manifest": 0}

    def write(path: Path, data: bytes, **kwargs: Any) -> None:
        if Path(path).name == MANIFEST_NAME:
            calls["manifest"] += 1
            if calls["manifest"] == 2:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
        atomic_write_bytes(path, data, **kwargs)

    callback = MatlabExportCallback(100, folder, on_error="warn")
    callback._write_file = write
    with pytest.warns(ExportWarning, match="Permission denied"):  # one commit per export:
        untrained_sac().learn(300, callback=CallbackList([callback, _FlushEach(callback)]))
    assert versions(folder) == [1, 3]
    assert not (folder / "policy_v000002.mat").exists() and stray_files(folder) == set()


def test_error_of_the_final_export_raises_at_training_end(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    callback = MatlabExportCallback(100, folder)
    callback._write_file = _failing_writer({"policy_v000003.mat"})
    model = untrained_sac()
    with pytest.raises(ExportFolderError, match="could not export version 3"):
        model.learn(250, callback=callback)
    assert model.num_timesteps == 250
    assert versions(folder) == [1, 2]


# --- on_error: real faults ----------------------------------------------------------------


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """Make ``folder`` refuse new entries for real. Root ignores permission bits, so as root
    the folder is made immutable (``chattr +i``, EPERM); otherwise it is chmod 0555 (EACCES)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("running as root and 'chattr +i' is unavailable on this file system")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


class _Fault(BaseCallback):
    """Hold a real fault from call ``start`` to call ``stop``, with the writer flushed at both."""

    def __init__(self, export: MatlabExportCallback, start: int, stop: int, fault: Any) -> None:
        super().__init__()
        self.export, self.start, self.stop, self.fault = export, start, stop, fault
        self.context: contextlib.AbstractContextManager | None = None

    def _on_step(self) -> bool:
        if self.n_calls in (self.start, self.stop) and self.export._writer is not None:
            self.export._writer.flush()
        if self.n_calls == self.start:
            self.context = self.fault()
            self.context.__enter__()
        elif self.n_calls == self.stop:
            self.context.__exit__(None, None, None)
            self.context = None
        return True

    def _on_training_end(self) -> None:
        if self.context is not None:
            self.context.__exit__(None, None, None)


def test_real_read_only_folder_with_warn(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    callback = MatlabExportCallback(50, folder, on_error="warn")
    fault = _Fault(callback, 120, 220, lambda: _read_only(folder))
    with pytest.warns(ExportWarning) as record:
        untrained_sac().learn(300, callback=CallbackList([callback, fault]))
    assert len(record) == 2  # versions 3 (150) and 4 (200) hit the read-only folder
    assert all(isinstance(e, PermissionError) for e in callback.errors)
    assert _timesteps(folder) == [50, 100, 250, 300]
    assert stray_files(folder) == set()


def test_real_read_only_folder_with_raise(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    callback = MatlabExportCallback(50, folder, on_error="raise")
    fault = _Fault(callback, 120, 10_000, lambda: _read_only(folder))
    model = untrained_sac()
    try:
        with pytest.raises(ExportFolderError, match="could not export version 3") as info:
            model.learn(400, callback=CallbackList([callback, fault, _FlushAt(callback, 160)]))
    finally:
        fault._on_training_end()
    assert info.value.errno in (errno.EPERM, errno.EACCES)
    assert 150 < model.num_timesteps <= 161 and versions(folder) == [1, 2]
    check_folder(folder)


@contextlib.contextmanager
def _small_disk(mount_point: Path, size_kib: int = 512) -> Iterator[Path]:
    """A real tmpfs of ``size_kib`` at ``mount_point`` (root with CAP_SYS_ADMIN only)."""
    mount_point.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(mount_point)],
            capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root with CAP_SYS_ADMIN")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@contextlib.contextmanager
def _fill(folder: Path) -> Iterator[None]:
    """Fill the file system of ``folder`` until the kernel answers ENOSPC."""
    ballast = folder / "ballast.bin"
    with open(ballast, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    try:
        yield
    finally:
        ballast.unlink()


def test_real_disk_full_with_warn(tmp_path: Path) -> None:
    with _small_disk(tmp_path / "disk") as disk:
        folder = disk / "run"
        callback = MatlabExportCallback(50, folder, on_error="warn")
        fault = _Fault(callback, 120, 220, lambda: _fill(disk))
        with pytest.warns(ExportWarning, match="No space left on device"):
            untrained_sac().learn(300, callback=CallbackList([callback, fault]))
        assert all(getattr(e, "errno", None) == errno.ENOSPC for e in callback.errors)
        assert len(callback.errors) == 2
        assert _timesteps(folder) == [50, 100, 250, 300]
        assert stray_files(folder) == set()


# --- every algorithm: the snapshot holds exactly the live weights -------------------------


def _algorithms() -> dict[str, Any]:
    from envs import SpaceEnv, box
    from sb3_contrib import ARS, QRDQN, TQC, TRPO, CrossQ, MaskablePPO, RecurrentPPO
    from sb3_contrib.common.wrappers import ActionMasker
    from stable_baselines3 import A2C, DQN, PPO, SAC, TD3

    obs, box_act, disc = box(-1.0, 1.0, (3,)), box(-2.0, 1.0, (2,)), gym.spaces.Discrete(3)

    def kw(**extra: Any) -> dict[str, Any]:
        return {"policy_kwargs": {"net_arch": [8], **extra}, "seed": 0, "device": "cpu"}

    off = {"learning_starts": 10, "buffer_size": 100}
    on = {"n_steps": 16, "batch_size": 16}
    return {
        "A2C": lambda: A2C("MlpPolicy", SpaceEnv(obs, box_act), n_steps=8, **kw()),
        "DQN": lambda: DQN("MlpPolicy", SpaceEnv(obs, disc), **off, **kw()),
        "PPO": lambda: PPO("MlpPolicy", SpaceEnv(obs, box_act), **on, **kw()),
        "SAC": lambda: SAC("MlpPolicy", SpaceEnv(obs, box_act), **off, **kw()),
        "TD3": lambda: TD3("MlpPolicy", SpaceEnv(obs, box_act), **off, **kw()),
        "ARS": lambda: ARS("LinearPolicy", SpaceEnv(obs, box_act), n_delta=2, seed=0,
                           device="cpu"),
        "CrossQ": lambda: CrossQ("MlpPolicy", SpaceEnv(obs, box_act), batch_size=8, **off,
                                 **kw(renorm_warmup_steps=4)),
        "MaskablePPO": lambda: MaskablePPO("MlpPolicy", ActionMasker(
            SpaceEnv(obs, disc), lambda env: np.array([True, True, False])), **on, **kw()),
        "QRDQN": lambda: QRDQN("MlpPolicy", SpaceEnv(obs, disc), **off, **kw()),
        "RecurrentPPO": lambda: RecurrentPPO("MlpLstmPolicy", SpaceEnv(obs, box_act), **on,
                                             **kw(lstm_hidden_size=4)),
        "TQC": lambda: TQC("MlpPolicy", SpaceEnv(obs, box_act), **off, **kw()),
        "TRPO": lambda: TRPO("MlpPolicy", SpaceEnv(obs, box_act), **on, **kw()),
    }


@pytest.mark.parametrize("name", sorted(_algorithms()))
def test_every_algorithm_exports_the_weights_it_trained(tmp_path: Path, name: str) -> None:
    """Bundles are built off the training thread from a copy of the tensors they depend on;
    the newest one must act exactly like the model learn() returns."""
    model = _algorithms()[name]()
    callback = MatlabExportCallback(20, tmp_path / "run")
    model.learn(64, callback=callback)
    assert callback._snapshotter.mode == "shadow"
    manifest = check_folder(tmp_path / "run")
    assert manifest["checkpoints"][-1]["trigger"] == "training_end"
    reference = load_bundle(tmp_path / "run" / manifest["checkpoints"][-1]["file"])["reference"]
    actions, _ = model.predict(reference["observations"], deterministic=True)
    np.testing.assert_allclose(np.ravel(actions), np.ravel(reference["actions"]), atol=1e-6)
