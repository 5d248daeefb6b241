"""ARS (sb3-contrib): features -> action_net -> argmax (Discrete) or unscale/clip (Box).

``LinearPolicy`` is one bias-free ``Linear`` and clips; ``MlpPolicy`` ends in ``tanh``
(``squash_output=True``) and unscales. Both ignore ``deterministic``.
"""

from __future__ import annotations

from gymnasium import spaces
from sb3_contrib import ARS
from sb3_contrib.ars.policies import ARSLinearPolicy, ARSPolicy

from ..builder import Builder
from .registry import register_extractor


@register_extractor(ARS, policies=(ARSPolicy, ARSLinearPolicy))
def ars(model: ARS, builder: Builder) -> int:
    """Translate an ARS policy."""
    policy = model.policy
    out = builder.module(policy.action_net, builder.features(policy.features_extractor))
    if isinstance(policy.action_space, spaces.Discrete):
        out = builder.program.add("argmax", out)
    return builder.postprocess(out, policy)
