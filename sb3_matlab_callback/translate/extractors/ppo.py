"""On-policy actor-critic: A2C, PPO, TRPO and MaskablePPO.

features -> policy_net -> action_net -> distribution head -> unscale/clip. The critic
is never exported: ``predict`` does not use it, whether its features extractor is
shared or not.
"""

from __future__ import annotations

from stable_baselines3 import A2C, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import (
    ActorCriticCnnPolicy,
    ActorCriticPolicy,
    MultiInputActorCriticPolicy,
)
from stable_baselines3.common.torch_layers import MlpExtractor

from ...errors import unsupported
from ..builder import Builder
from ..distributions import add_head
from .registry import HAS_CONTRIB, register_extractor

ACTOR_CRITIC_POLICIES = (ActorCriticPolicy, ActorCriticCnnPolicy, MultiInputActorCriticPolicy)


def actor_critic(policy: ActorCriticPolicy, builder: Builder) -> int:
    """Translate the actor half of an ``ActorCriticPolicy``."""
    return actor_head(policy, builder, builder.features(policy.pi_features_extractor))


def actor_head(policy: ActorCriticPolicy, builder: Builder, features: int) -> int:
    """Translate ``policy_net -> action_net -> distribution -> post-processing`` on ``features``.

    :param policy: an ``ActorCriticPolicy`` (or a subclass with the same actor layout).
    :param builder: the builder of the program.
    :param features: the register with the actor's features (or LSTM output).
    :return: the action register.
    """
    if type(policy.mlp_extractor) is not MlpExtractor:
        raise unsupported("mlp_extractor", type(policy.mlp_extractor).__name__, ["MlpExtractor"])
    latent = builder.module(policy.mlp_extractor.policy_net, features)
    params = builder.module(policy.action_net, latent)
    action = add_head(policy.action_dist, builder.program, params,
                      log_std=getattr(policy, "log_std", None), latent_sde=latent)
    return builder.postprocess(action, policy)


@register_extractor(PPO, policies=ACTOR_CRITIC_POLICIES)
def ppo(model: PPO, builder: Builder) -> int:
    """Translate a PPO policy."""
    return actor_critic(model.policy, builder)


@register_extractor(A2C, policies=ACTOR_CRITIC_POLICIES)
def a2c(model: A2C, builder: Builder) -> int:
    """Translate an A2C policy (the same ``ActorCriticPolicy`` as PPO)."""
    return actor_critic(model.policy, builder)


def _register_contrib() -> None:
    from sb3_contrib import TRPO, MaskablePPO
    from sb3_contrib.common.maskable.policies import (
        MaskableActorCriticCnnPolicy,
        MaskableActorCriticPolicy,
        MaskableMultiInputActorCriticPolicy,
    )

    def on_policy(model: BaseAlgorithm, builder: Builder) -> int:
        """Translate a TRPO or MaskablePPO policy (masks: ``sb3.predict``'s 'ActionMasks')."""
        return actor_critic(model.policy, builder)

    register_extractor(TRPO, policies=ACTOR_CRITIC_POLICIES)(on_policy)
    register_extractor(MaskablePPO, policies=(
        MaskableActorCriticPolicy, MaskableActorCriticCnnPolicy,
        MaskableMultiInputActorCriticPolicy))(on_policy)


if HAS_CONTRIB:
    _register_contrib()
