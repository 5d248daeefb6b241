"""The docs' plain-MATLAB recipe really runs a bundle without the +sb3 runtime."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from envs import SpaceEnv, box
from octave import run_octave
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from sb3_matlab_callback import export_policy

ROOT = Path(__file__).resolve().parents[1]


def _recipe() -> str:
    text = (ROOT / "docs" / "bundle-format.md").read_text()
    section = text.split("## Using a bundle without the runtime", 1)[1]
    return re.search(r"```matlab\n(.*?)```", section, re.S).group(1)


@pytest.mark.octave
def test_plain_matlab_recipe_reproduces_reference_actions(tmp_path: Path) -> None:
    env = SpaceEnv(box(-1, 1, (4,)), box([-2.0, 0.0], [1.0, 5.0]))
    venv = VecNormalize(DummyVecEnv([lambda: env]), clip_obs=3.0)
    venv.obs_rms.mean = np.array([1.0, -1.0, 0.5, 0.0])
    venv.obs_rms.var = np.array([4.0, 0.25, 1.0, 9.0])
    export_policy(SAC("MlpPolicy", env, buffer_size=10, policy_kwargs={"net_arch": [8, 8]}),
                  tmp_path / "sac.mat", vec_normalize=venv)
    export_policy(PPO("MlpPolicy", env, n_steps=8, batch_size=8, policy_kwargs={"net_arch": [8]}),
                  tmp_path / "ppo.mat")
    script = ""
    for name in ("sac", "ppo"):
        script += (f"clear S; S0 = load('{name}.mat'); obs = S0.reference.observations;\n"
                   f"{_recipe().replace('policy.mat', name + '.mat')}\n"
                   f"fprintf('%s %.3g\\n', '{name}', max(abs(action(:) - S.reference.actions(:))));\n")
    out = run_octave(script, tmp_path).stdout
    errors = dict(line.split() for line in out.strip().splitlines())
    assert set(errors) == {"sac", "ppo"}
    assert all(float(err) < 1e-5 for err in errors.values()), errors
