"""A real ``python -m rl_zoo3.train`` run with MatlabExportCallback as its callback: hyperparameter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from delivery_helpers import check_folder
from octave import IN_CI, run_octave

from sb3_matlab_callback.experiments import list_runs

if not IN_CI:
    pytest.importorskip("rl_zoo3", reason="the rl-zoo3 test needs rl_zoo3 (in the test extra)")

#: The README's syntax, verbatim: one hyperparameter line serves every algorithm, env and seed.
CALLBACK = ("callback:\"{'sb3_matlab_callback.MatlabExportCallback': "
            "dict(save_freq=200, save_path='exports/{algorithm}/{env_id}_seed{seed}')}\"")


@pytest.mark.octave
@pytest.mark.slow
def test_rl_zoo3_train_exports_into_the_placeholder_path(tmp_path: Path) -> None:
    command = (f"{sys.executable} -m rl_zoo3.train --algo sac --env Pendulum-v1 -n 600 --seed 3 "
               f"--log-folder logs --eval-freq -1 -params policy_kwargs:\"dict(net_arch=[16])\" "
               f"learning_starts:100 {CALLBACK}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled"}
    proc = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = tmp_path / "exports" / "SAC" / "Pendulum-v1_seed3"
    manifest = check_folder(folder)
    assert [c["num_timesteps"] for c in manifest["checkpoints"]] == [200, 400, 600, 600]
    assert manifest["run"]["seed"] == 3 and manifest["run"]["env_id"] == "Pendulum-v1"
    assert [row["name"] for row in list_runs(tmp_path / "exports")] == ["SAC/Pendulum-v1_seed3"]
    out = run_octave(f"""
    runs = sb3.runs('{tmp_path / "exports"}');
    policy = sb3.poll([], runs(1).path);
    fprintf('RUN %s %d %d %g\\n', runs(1).name, runs(1).seed, policy.version, sb3.verify(policy));
    """, tmp_path).stdout
    name, seed, version, err = out.split("RUN ", 1)[1].split()
    assert (name, seed, int(version)) == ("SAC/Pendulum-v1_seed3", "3", manifest["latest"])
    assert float(err) < 1e-4
