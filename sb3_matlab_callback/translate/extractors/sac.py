"""SAC-style squashed Gaussian actors: SAC, TQC and CrossQ.

features -> latent_pi -> mu (with gSDE's clip_mean) -> tanh -> unscale. CrossQ's
``latent_pi`` holds BatchRenorm layers, translated in inference mode (running statistics).
"""

from __future__ import annotations

from stable_baselines3 import SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.sac.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

from ..builder import Builder
from ..distributions import add_head
from .registry import HAS_CONTRIB, register_extractor

LOG_STD_BOUNDS = {"min_val": -20.0, "max_val": 2.0}  # SAC's LOG_STD_MIN / LOG_STD_MAX


def squashed_gaussian_actor(policy: BasePolicy, builder: Builder) -> int:
    """Translate an SB3 SAC-style ``Actor`` (also used by TQC and CrossQ)."""
    actor = policy.actor
    latent = builder.module(actor.latent_pi, builder.features(actor.features_extractor))
    mean = builder.module(actor.mu, latent)
    if actor.use_sde:
        action = add_head(actor.action_dist, builder.program, mean,
                          log_std=actor.log_std, latent_sde=latent)
    else:
        log_std = builder.module(actor.log_std, latent, mode="stochastic")
        log_std = builder.program.add("hardtanh", log_std, mode="stochastic", **LOG_STD_BOUNDS)
        action = add_head(actor.action_dist, builder.program, mean, log_std=log_std)
    return builder.postprocess(action, policy)


@register_extractor(SAC, policies=(MlpPolicy, CnnPolicy, MultiInputPolicy))
def sac(model: SAC, builder: Builder) -> int:
    """Translate a SAC actor."""
    return squashed_gaussian_actor(model.policy, builder)


def _register_contrib() -> None:
    from sb3_contrib import TQC, CrossQ
    from sb3_contrib.crossq.policies import CrossQPolicy
    from sb3_contrib.tqc import policies as tqc

    def actor(model: BaseAlgorithm, builder: Builder) -> int:
        """Translate a TQC or CrossQ actor (the critics are never exported)."""
        return squashed_gaussian_actor(model.policy, builder)

    register_extractor(TQC, policies=(tqc.MlpPolicy, tqc.CnnPolicy, tqc.MultiInputPolicy))(actor)
    register_extractor(CrossQ, policies=(CrossQPolicy,))(actor)


if HAS_CONTRIB:
    _register_contrib()
