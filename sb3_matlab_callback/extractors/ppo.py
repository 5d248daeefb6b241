"""On-policy actor-critic (PPO): features -> policy_net -> action_net -> distribution."""

from __future__ import annotations

from stable_baselines3 import PPO
from stable_baselines3.common.policies import (
    ActorCriticCnnPolicy,
    ActorCriticPolicy,
    MultiInputActorCriticPolicy,
)
from stable_baselines3.common.torch_layers import MlpExtractor

from ..builder import Builder
from ..distributions import add_head
from ..errors import unsupported
from .registry import register_extractor

ACTOR_CRITIC_POLICIES = (ActorCriticPolicy, ActorCriticCnnPolicy, MultiInputActorCriticPolicy)


def actor_critic(policy: ActorCriticPolicy, builder: Builder) -> int:
    """Translate the actor half of an ``ActorCriticPolicy``."""
    if type(policy.mlp_extractor) is not MlpExtractor:
        raise unsupported("mlp_extractor", type(policy.mlp_extractor).__name__, ["MlpExtractor"])
    features = builder.features(policy.pi_features_extractor)
    latent = builder.module(policy.mlp_extractor.policy_net, features)
    params = builder.module(policy.action_net, latent)
    action = add_head(policy.action_dist, builder.program, params,
                      log_std=getattr(policy, "log_std", None), latent_sde=latent)
    return builder.postprocess(action, policy)


@register_extractor(PPO, policies=ACTOR_CRITIC_POLICIES)
def ppo(model: PPO, builder: Builder) -> int:
    """Translate a PPO policy."""
    return actor_critic(model.policy, builder)
