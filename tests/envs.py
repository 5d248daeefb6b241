"""A tiny env with configurable spaces, so tests build models without training."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3 import DQN, PPO, SAC, TD3


class SpaceEnv(gym.Env):
    """An env that only exists to give a model its observation and action spaces."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, episode_len: int = 50):
        self.observation_space = observation_space
        self.action_space = action_space
        self.episode_len = episode_len
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self._t = 0
        return self.observation_space.sample(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self._t += 1
        reward = float(self.np_random.normal())
        return self.observation_space.sample(), reward, False, self._t >= self.episode_len, {}


def perturb(model: Any, scale: float = 0.5, seed: int = 0) -> None:
    """Give every policy parameter random values, as training would, so outputs spread out."""
    gen = th.Generator().manual_seed(seed)
    with th.no_grad():
        for param in model.policy.parameters():
            param.add_(th.randn(param.shape, generator=gen) * scale / max(1, param.shape[-1]) ** 0.5)


def box(low: Any, high: Any, shape: tuple[int, ...] | None = None) -> gym.spaces.Box:
    return gym.spaces.Box(np.float32(low) if shape else np.asarray(low, np.float32),
                          np.float32(high) if shape else np.asarray(high, np.float32),
                          shape=shape, dtype=np.float32)


def fresh_observations(space: gym.spaces.Box, n: int, seed: int) -> np.ndarray:
    """In-range and far out-of-range observations (saturating tanh, triggering clips)."""
    rng = np.random.default_rng(seed)
    low = np.where(np.isfinite(space.low), space.low, -2.0)
    high = np.where(np.isfinite(space.high), space.high, 2.0)
    obs = rng.uniform(low, high, size=(n, *space.shape))
    obs[: n // 4] *= 25.0  # far outside any bound
    return obs.astype(space.dtype)


#: Small spaces and default-shape models (two hidden layers) of the fast-lane and reload tests.
SMALL_OBS = gym.spaces.Box(-2.0, 2.0, (3,), np.float32)
SMALL_BOX = gym.spaces.Box(np.array([-2.0, 0.0]), np.array([2.0, 3.0]), dtype=np.float32)
SMALL_SYMMETRIC = gym.spaces.Box(-2.0, 2.0, (2,), np.float32)  # unscale without a mid
SMALL_DISCRETE = gym.spaces.Discrete(4)


def small_net() -> dict[str, Any]:
    return {"net_arch": [16, 16]}  # fresh each time: SB3 adds keys to it


def _small(algorithm: Any, action_space: gym.Space) -> Any:
    return lambda: algorithm("MlpPolicy", SpaceEnv(SMALL_OBS, action_space),
                             policy_kwargs=small_net(), seed=0, device="cpu")


SMALL_MODELS = {
    "sac": _small(SAC, SMALL_BOX),
    "sac-symmetric": _small(SAC, SMALL_SYMMETRIC),
    "td3": _small(TD3, SMALL_BOX),
    "ppo-box": _small(PPO, SMALL_BOX),
    "ppo-discrete": _small(PPO, SMALL_DISCRETE),
    "dqn": _small(DQN, SMALL_DISCRETE),
}
