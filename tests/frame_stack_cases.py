"""Spaces and envs shared by the frame-stack tests (runtime and generated code)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from envs import SpaceEnv, box
from stable_baselines3.common.vec_env import DummyVecEnv

FLAT = box(-1.0, 1.0, shape=(4,))
ACT = box([-2.0, 0.0], [2.0, 5.0])
HWC = gym.spaces.Box(0, 255, (36, 36, 1), np.uint8)
CHW = gym.spaces.Box(0, 255, (1, 36, 36), np.uint8)
DICT = gym.spaces.Dict({"a": box(-1.0, 1.0, shape=(3,)), "b-c": box(-2.0, 2.0, shape=(2,))})
CNN_KWARGS = {"net_arch": [8], "features_extractor_kwargs": {"features_dim": 16}}


def episode_envs(space: gym.Space, action_space: gym.Space, lengths: tuple[int, ...]) -> DummyVecEnv:
    """Envs whose episodes end after ``lengths`` steps: dones inside the recorded run."""
    env = DummyVecEnv([lambda n=n: SpaceEnv(space, action_space, episode_len=n) for n in lengths])
    env.seed(7)
    return env
