"""A user's own CNN features extractor, registered for export: the layers SB3's own
policies never use (padding, dilation, 'same' padding, BatchNorm1d, LayerNorm, ELU).

Shared by the runtime tests (tests/matlab/test_options.py) and the generated-function
tests (tests/generate/test_generate.py).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from envs import SpaceEnv, box
from stable_baselines3 import A2C
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from sb3_matlab_callback import register_features_extractor

IMAGE = gym.spaces.Box(0, 255, (36, 36, 3), np.uint8)


class CustomCnn(BaseFeaturesExtractor):
    """A user's CNN: padding, dilation, 'same' padding, BatchNorm1d and LayerNorm."""

    def __init__(self, observation_space: gym.Space) -> None:
        super().__init__(observation_space, features_dim=6)
        self.net = th.nn.Sequential(
            th.nn.Conv2d(3, 4, kernel_size=5, stride=2, padding=1, dilation=2), th.nn.ELU(),
            th.nn.Conv2d(4, 3, kernel_size=(3, 2), padding="same"), th.nn.ReLU(),
            th.nn.Flatten(), th.nn.Linear(3 * 15 * 15, 6), th.nn.BatchNorm1d(6),
            th.nn.LayerNorm(6), th.nn.Tanh())

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return self.net(obs)


@register_features_extractor(CustomCnn)
def _custom_cnn(builder: Any, extractor: CustomCnn) -> int:
    (reg,) = builder.observation().values()
    return builder.module(extractor.net, reg)


def custom_cnn_model() -> A2C:
    """A2C with the custom CNN, Box actions in [-1, 3], and non-trivial BatchNorm statistics."""
    model = A2C("CnnPolicy", SpaceEnv(IMAGE, box(-1.0, 3.0, (2,))), seed=0,
                policy_kwargs={"features_extractor_class": CustomCnn, "net_arch": [8]})
    norm = model.policy.features_extractor.net[6]
    with th.no_grad():
        norm.running_mean.uniform_(-0.5, 0.5)
        norm.running_var.uniform_(0.5, 2.0)
    return model
