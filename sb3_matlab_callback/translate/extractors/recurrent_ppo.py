"""RecurrentPPO (sb3-contrib): features -> actor LSTM -> policy_net -> action_net -> head.

Only the actor's LSTM runs at ``predict``: its ``(h, c)`` is the state that
``sb3.predict`` takes and returns (``'State'``, ``'EpisodeStart'``). The critic's LSTM,
shared or separate, is never exported, as ``predict`` never uses it.
"""

from __future__ import annotations

from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.policies import (
    RecurrentActorCriticCnnPolicy,
    RecurrentActorCriticPolicy,
    RecurrentMultiInputActorCriticPolicy,
)

from ..builder import Builder
from .ppo import actor_head
from .registry import register_extractor


@register_extractor(RecurrentPPO, policies=(RecurrentActorCriticPolicy,
                                            RecurrentActorCriticCnnPolicy,
                                            RecurrentMultiInputActorCriticPolicy))
def recurrent_ppo(model: RecurrentPPO, builder: Builder) -> int:
    """Translate a RecurrentPPO actor with one LSTM step per ``sb3.predict`` call."""
    policy = model.policy
    features = builder.features(policy.pi_features_extractor)
    return actor_head(policy, builder, builder.lstm(policy.lstm_actor, features))
