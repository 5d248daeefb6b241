"""TD3 and DDPG: features -> mu (an MLP ending in tanh) -> unscale."""

from __future__ import annotations

from stable_baselines3 import TD3
from stable_baselines3.td3.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

from ..builder import Builder
from .registry import register_extractor


@register_extractor(TD3, policies=(MlpPolicy, CnnPolicy, MultiInputPolicy))
def td3(model: TD3, builder: Builder) -> int:
    """Translate a TD3 (or DDPG) actor; ``predict`` ignores ``deterministic`` for these."""
    actor = model.policy.actor
    action = builder.module(actor.mu, builder.features(actor.features_extractor))
    return builder.postprocess(action, model.policy)
