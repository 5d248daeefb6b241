"""Shared helpers of the delivery tests (callback, manifest, crash, concurrent reader)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch as th
from octave import run_octave
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.callbacks import BaseCallback

from sb3_matlab_callback import load_bundle, read_manifest
from sb3_matlab_callback.deliver.manifest import MANIFEST_NAME, check_listed_files
from sb3_matlab_callback.deliver.writer import LOCK_NAME, TEMP_PREFIX

TRAIN_SCRIPT = Path(__file__).with_name("delivery_train.py")
FIXTURES = {MANIFEST_NAME, LOCK_NAME, "matlab"}


@pytest.fixture(autouse=False)
def one_torch_thread() -> Iterator[None]:
    """Tiny nets train fastest on one thread, and the machine has two cores to share."""
    before = th.get_num_threads()
    th.set_num_threads(1)
    yield
    th.set_num_threads(before)


def tiny_sac(env: Any = "Pendulum-v1", **kwargs: Any) -> SAC:
    kwargs.setdefault("learning_starts", 50)
    return SAC("MlpPolicy", env, policy_kwargs={"net_arch": [16, 16]}, seed=0, device="cpu",
               **kwargs)


def tiny_ppo(env: Any = "Pendulum-v1", **kwargs: Any) -> PPO:
    kwargs.setdefault("n_steps", 32)
    kwargs.setdefault("batch_size", 32)
    kwargs.setdefault("n_epochs", 1)
    return PPO("MlpPolicy", env, policy_kwargs={"net_arch": [16, 16]}, seed=0, device="cpu",
               **kwargs)


def check_folder(folder: Path) -> dict[str, Any]:
    """Assert the folder is consistent: manifest parses, every listed file exists, its
    sha256 matches and it loads as the bundle of that version. Returns the manifest."""
    manifest = read_manifest(folder)
    assert manifest is not None, f"no manifest in {folder}"
    check_listed_files(folder, manifest, hashes=True)
    for entry in manifest["checkpoints"]:
        bundle = load_bundle(folder / entry["file"])
        assert int(bundle["version"]) == entry["version"]
        assert int(bundle["num_timesteps"]) == entry["num_timesteps"]
    return manifest


def versions(folder: Path) -> list[int]:
    manifest = read_manifest(folder)
    return [] if manifest is None else [c["version"] for c in manifest["checkpoints"]]


def stray_files(folder: Path) -> set[str]:
    """Files in the folder that are neither listed nor part of its fixed layout."""
    manifest = read_manifest(folder)
    listed = {c["file"] for c in manifest["checkpoints"]} if manifest else set()
    found = {p.name for p in folder.iterdir()} - listed - FIXTURES
    temps = {str(p.relative_to(folder)) for p in folder.rglob(f"{TEMP_PREFIX}*")}
    return found | temps


def train_command(save_path: Path, *args: str) -> list[str]:
    return [sys.executable, str(TRAIN_SCRIPT), str(save_path), *args]


def run_training(save_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(train_command(save_path, *args), capture_output=True, text=True,
                          timeout=timeout)


def octave_check_folder(folder: Path, workdir: Path) -> dict[str, Any]:
    """Load and verify every listed bundle in Octave, and ask sb3.latest for the newest."""
    workdir.mkdir(parents=True, exist_ok=True)
    script = f"""
    folder = '{folder}';
    m = jsondecode(fileread(fullfile(folder, 'manifest.json')));
    c = m.checkpoints;
    if isstruct(c), c = num2cell(c); end
    out = struct('versions', [], 'errs', [], 'latest', -1, 'latest_file', '');
    for k = 1:numel(c)
      p = sb3.load_policy(fullfile(folder, c{{k}}.file));
      out.versions(end + 1) = p.version;
      out.errs(end + 1) = sb3.verify(p);
    end
    [path, entry] = sb3.latest(folder);
    out.latest = entry.version;
    [~, name, ext] = fileparts(path);
    out.latest_file = [name ext];
    fid = fopen('check.json', 'w'); fprintf(fid, '%s', jsonencode(out)); fclose(fid);
    """
    run_octave(script, workdir, extra_paths=())
    return json.loads((workdir / "check.json").read_text())


class Moments(BaseCallback):
    """SB3's actions for ``observations`` at each export moment, keyed by num_timesteps and trigger.

    Fires on the steps a ``MatlabExportCallback`` with the same ``every`` exports, and at
    training end. Override :meth:`expected_at` to record more (e.g. VecNormalize statistics).
    """

    def __init__(self, every: int, observations: np.ndarray) -> None:
        super().__init__()
        self.every, self.observations = every, observations
        self.expected: dict[tuple[int, str], Any] = {}

    def expected_at(self) -> Any:
        actions, _ = self.model.predict(self.observations, deterministic=True)
        return np.asarray(actions, np.float64)

    def _on_step(self) -> bool:
        if self.n_calls % self.every == 0:
            self.expected[self.model.num_timesteps, "save_freq"] = self.expected_at()
        return True

    def _on_training_end(self) -> None:
        self.expected[self.model.num_timesteps, "training_end"] = self.expected_at()
