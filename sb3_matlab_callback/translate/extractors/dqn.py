"""Value-based: DQN (q_net -> argmax) and QR-DQN (quantiles -> mean -> argmax).

With ``'Deterministic', false`` the runtime explores as ``DQN.predict`` does: with
probability ``exploration_rate`` (its value at export) the whole batch gets uniform
random actions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3 import DQN
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.dqn.policies import CnnPolicy, DQNPolicy, MultiInputPolicy

from ..builder import Builder
from .registry import HAS_CONTRIB, register_extractor


def greedy(model: Any, builder: Builder, q_values: int) -> int:
    """Append ``argmax`` over ``N x n`` Q-values and epsilon-greedy exploration."""
    action = builder.program.add("argmax", q_values)
    builder.program.assign("epsilon_greedy", action, action, mode="stochastic",
                           epsilon=float(model.exploration_rate),
                           n=float(model.action_space.n))
    return builder.postprocess(action, model.policy)


@register_extractor(DQN, policies=(DQNPolicy, CnnPolicy, MultiInputPolicy))
def dqn(model: DQN, builder: Builder) -> int:
    """Translate a DQN Q-network."""
    q_net = model.policy.q_net
    features = builder.features(q_net.features_extractor)
    return greedy(model, builder, builder.module(q_net.q_net, features))


def _register_contrib() -> None:
    from sb3_contrib import QRDQN
    from sb3_contrib.qrdqn import policies as qrdqn

    def quantile(model: BaseAlgorithm, builder: Builder) -> int:
        """Translate a QR-DQN quantile network: mean over quantiles, then argmax."""
        net = model.policy.quantile_net
        quantiles = builder.module(net.quantile_net, builder.features(net.features_extractor))
        shape = np.array([[net.n_quantiles, int(model.action_space.n)]], dtype=np.float64)
        q_values = builder.program.add("mean", quantiles, shape=shape, dim=0.0)
        return greedy(model, builder, q_values)

    register_extractor(QRDQN, policies=(qrdqn.QRDQNPolicy, qrdqn.CnnPolicy,
                                        qrdqn.MultiInputPolicy))(quantile)


if HAS_CONTRIB:
    _register_contrib()
