"""Observation, mask and tolerance helpers shared by the Octave parity tests.

Used by ``tests/matlab/test_parity_matrix.py`` (``sb3.predict``) and
``tests/generate/test_generate.py`` (generated functions), so both compare against SB3
on the same kind of inputs.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from envs import SpaceEnv
from matrix import Case
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

ATOL = 1e-5


def fresh(space: gym.Space, rng: np.random.Generator, n: int) -> Any:
    """``n`` observations as the env gives them, stacked along a new first axis."""
    if isinstance(space, gym.spaces.Dict):
        return {key: fresh(sub, rng, n) for key, sub in space.spaces.items()}
    if isinstance(space, gym.spaces.Discrete):
        return rng.integers(0, space.n, size=n).astype(space.dtype)
    if isinstance(space, gym.spaces.MultiDiscrete):
        return rng.integers(0, space.nvec, size=(n, *space.nvec.shape)).astype(space.dtype)
    if isinstance(space, gym.spaces.MultiBinary):
        return rng.integers(0, 2, size=(n, *np.atleast_1d(space.n))).astype(space.dtype)
    if np.issubdtype(space.dtype, np.integer):
        return rng.integers(0, 256, size=(n, *space.shape)).astype(space.dtype)
    obs = rng.uniform(space.low, space.high, size=(n, *space.shape))
    obs[: n // 4] *= 25.0  # far outside the bounds: saturation and clipping
    return obs.astype(space.dtype)


def for_matlab(obs: Any) -> Any:
    """Discrete observations one per row, as the MATLAB runtime takes them."""
    if isinstance(obs, dict):
        return {key: for_matlab(value) for key, value in obs.items()}
    return obs.reshape(-1, 1) if obs.ndim == 1 else obs


def masks_for(model: Any, rng: np.random.Generator, n: int) -> np.ndarray:
    """Random action masks with at least one valid choice per action dimension."""
    dims = np.asarray(model.policy.action_dist.action_dims
                      if hasattr(model.policy.action_dist, "action_dims")
                      else [model.action_space.n]).ravel()
    blocks = []
    for size in dims:
        block = rng.random((n, int(size))) < 0.6
        block[np.arange(n), rng.integers(0, size, n)] = True
        blocks.append(block)
    return np.concatenate(blocks, axis=1)


def vec_normalize_for(case: Case) -> VecNormalize:
    venv = VecNormalize(DummyVecEnv([lambda: SpaceEnv(case.obs_space, case.act_space)]),
                        clip_obs=2.5)
    rng = np.random.default_rng(3)
    stats = venv.obs_rms.values() if isinstance(venv.obs_rms, dict) else [venv.obs_rms]
    for stat in stats:
        stat.mean = rng.normal(size=stat.mean.shape) * 3
        stat.var = rng.uniform(0.1, 9.0, size=stat.var.shape)
    return venv


def atol_for(actions: np.ndarray) -> float:
    """1e-5 per unit of action magnitude, as sb3.verify: torch itself computes in float32."""
    return ATOL * max(1.0, float(np.max(np.abs(actions))))
