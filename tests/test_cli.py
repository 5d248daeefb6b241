"""The sb3-matlab command line, run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from envs import SpaceEnv, box
from octave import require_octave
from stable_baselines3 import SAC
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from sb3_matlab_callback import load_bundle, matlab_path


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sb3_matlab_callback", *args],
                          capture_output=True, text=True, timeout=300)


def test_matlab_path() -> None:
    out = _cli("matlab-path")
    assert out.returncode == 0
    assert Path(out.stdout.strip()) == matlab_path()
    assert (matlab_path() / "+sb3" / "predict.m").is_file()


def test_export_saved_model_with_vecnormalize(tmp_path: Path) -> None:
    env = SpaceEnv(box(-1, 1, (3,)), box(0, 4, (2,)))
    model = SAC("MlpPolicy", env, buffer_size=10, policy_kwargs={"net_arch": [4]}, seed=1)
    model.save(tmp_path / "model.zip")
    venv = VecNormalize(DummyVecEnv([lambda: env]))
    venv.obs_rms.mean = np.array([0.5, -1.0, 2.0])
    venv.save(tmp_path / "vn.pkl")
    out = _cli("export", str(tmp_path / "model.zip"), str(tmp_path / "p.mat"), "--algo", "SAC",
               "--vecnormalize", str(tmp_path / "vn.pkl"))
    assert out.returncode == 0, out.stderr
    bundle = load_bundle(tmp_path / "p.mat")
    np.testing.assert_allclose(bundle["inputs"]["mean"], [0.5, -1.0, 2.0])
    info = _cli("info", str(tmp_path / "p.mat"))
    assert "SAC (SACPolicy), version 1" in info.stdout
    assert "VecNormalize: yes" in info.stdout


def test_subclasses_such_as_ddpg_are_loadable() -> None:
    from sb3_matlab_callback.safe_load import loadable_algorithms

    names = loadable_algorithms()
    assert {"DDPG", "TD3", "SAC", "PPO", "A2C", "DQN"} <= set(names)


def test_export_unknown_algorithm_is_named(tmp_path: Path) -> None:
    out = _cli("export", "m.zip", str(tmp_path / "p.mat"), "--algo", "SACX")
    assert out.returncode == 1
    assert "Unsupported algorithm 'SACX'. Did you mean 'SAC'?" in out.stderr


def test_info_on_corrupt_bundle(tmp_path: Path) -> None:
    (tmp_path / "bad.mat").write_bytes(b"junk")
    out = _cli("info", str(tmp_path / "bad.mat"))
    assert out.returncode == 1
    assert "corrupt" in out.stderr


def test_verify_in_octave(tmp_path: Path) -> None:
    require_octave()
    model = SAC("MlpPolicy", SpaceEnv(box(-1, 1, (3,)), box(-1, 1, (1,))), buffer_size=10,
                policy_kwargs={"net_arch": [4]})
    from sb3_matlab_callback import export_policy

    export_policy(model, tmp_path / "p.mat")
    out = _cli("verify", str(tmp_path / "p.mat"))
    assert out.returncode == 0, out.stderr
    err = float(out.stdout.strip().rsplit(" ", 1)[1])
    assert 0 <= err <= 1e-5
