"""The toolkit extractors use to turn a policy into a :class:`Program`.

It owns the observation inputs (created once, with VecNormalize statistics), the
features-extractor translations and the policy-level action post-processing, so an
extractor only says which sub-modules form the actor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    CombinedExtractor,
    FlattenExtractor,
    NatureCNN,
)
from torch import nn

from ..errors import UnsupportedError, unsupported
from .modules import flatten, translate, translate_lstm
from .program import MODES, Program
from .spaces import add_observation_input

FeaturesTranslator = Callable[["Builder", BaseFeaturesExtractor], int]

_FEATURES: dict[type[BaseFeaturesExtractor], FeaturesTranslator] = {}

FEATURES_HINT = (
    "Register a translation for it: decorate a function (builder, extractor) -> register "
    "with @sb3_matlab_callback.register_features_extractor(YourExtractor); it reads the "
    "observation registers from builder.observation() and translates sub-modules with "
    "builder.module(module, register) (see README, 'Extending')."
)


def register_features_extractor(
    cls: type[BaseFeaturesExtractor],
) -> Callable[[FeaturesTranslator], FeaturesTranslator]:
    """Register ``fn(builder, extractor) -> register`` for the exact class ``cls``."""

    def decorator(fn: FeaturesTranslator) -> FeaturesTranslator:
        _FEATURES[cls] = fn
        return fn

    return decorator


def supported_features_extractors() -> list[str]:
    """Return the names of the features extractors that can be translated."""
    return sorted(c.__name__ for c in _FEATURES)


@dataclass
class Builder:
    """Builds one policy's program.

    :param observation_space: the policy's observation space.
    :param normalize_images: the policy's ``normalize_images``.
    :param obs_stats: VecNormalize statistics: ``{key: {mean, var, epsilon, clip_obs}}``
        with key ``""`` for a non-Dict observation.
    :param image_layouts: for image (sub-)spaces, how the env gives one image, by key:
        ``"HWC"`` (channel-last, transposed by SB3) or ``"CHW"``. Default ``"HWC"``.
    """

    observation_space: spaces.Space
    normalize_images: bool = True
    obs_stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    image_layouts: dict[str, str] = field(default_factory=dict)
    program: Program = field(default_factory=Program)
    _inputs: dict[str, int] | None = None

    def observation(self) -> dict[str, int]:
        """Return the input registers, by Dict key (``""`` for a plain space), made once."""
        if self._inputs is None:
            subspaces = (self.observation_space.spaces
                         if isinstance(self.observation_space, spaces.Dict)
                         else {"": self.observation_space})
            self._inputs = {
                key: add_observation_input(space, self.program, key,
                                           normalize_images=self.normalize_images,
                                           normalizer=self.obs_stats.get(key),
                                           image_layout=self.image_layouts.get(key, "HWC"))
                for key, space in subspaces.items()
            }
        return self._inputs

    def features(self, extractor: BaseFeaturesExtractor) -> int:
        """Translate a features extractor applied to the observation."""
        cls = type(extractor)
        if cls not in _FEATURES:
            raise unsupported("features extractor", cls.__name__,
                              supported_features_extractors(), FEATURES_HINT)
        return _FEATURES[cls](self, extractor)

    def module(self, module: nn.Module, reg: int, mode: str = "always") -> int:
        """Translate ``module`` applied to register ``reg``; its ops run in ``mode``."""
        assert mode in MODES
        first = len(self.program.ops)
        out = translate(module, self.program, reg)
        for op in self.program.ops[first:]:
            op.mode = mode
        return out

    def lstm(self, lstm: nn.LSTM, reg: int) -> int:
        """Translate one recurrent step of ``lstm``; the program then carries its state."""
        return translate_lstm(lstm, self.program, reg)

    def postprocess(self, reg: int, policy: BasePolicy) -> int:
        """Append what ``BasePolicy.predict`` does after the network: unscale or clip."""
        space = policy.action_space
        if isinstance(space, spaces.Box):
            low = np.asarray(space.low, dtype=np.float64).reshape(1, -1)
            high = np.asarray(space.high, dtype=np.float64).reshape(1, -1)
            op = "unscale" if policy.squash_output else "clip"
            reg = self.program.add(op, reg, low=low, high=high)
        self.program.output = reg
        return reg


def _single_observation(builder: Builder, extractor: BaseFeaturesExtractor) -> int:
    inputs = builder.observation()
    if len(inputs) != 1:
        raise UnsupportedError(
            f"Unsupported features extractor {type(extractor).__name__!r} for a Dict "
            "observation: it takes one array. Use MultiInputPolicy (CombinedExtractor)."
        )
    (reg,) = inputs.values()
    return reg


@register_features_extractor(FlattenExtractor)
def _flatten_extractor(builder: Builder, extractor: FlattenExtractor) -> int:
    return flatten(builder.program, _single_observation(builder, extractor))


def nature_cnn(builder: Builder, extractor: NatureCNN, reg: int) -> int:
    """Translate a ``NatureCNN`` applied to the image register ``reg``."""
    return builder.module(extractor.linear, builder.module(extractor.cnn, reg))


@register_features_extractor(NatureCNN)
def _nature_cnn(builder: Builder, extractor: NatureCNN) -> int:
    return nature_cnn(builder, extractor, _single_observation(builder, extractor))


@register_features_extractor(CombinedExtractor)
def _combined_extractor(builder: Builder, extractor: CombinedExtractor) -> int:
    inputs = builder.observation()
    outputs = []
    for key, sub in extractor.extractors.items():  # SB3's key order, as its forward()
        if type(sub) is NatureCNN:
            outputs.append(nature_cnn(builder, sub, inputs[key]))
        else:
            outputs.append(builder.module(sub, inputs[key]))
    if len(outputs) == 1:
        return outputs[0]
    return builder.program.add("concat", *outputs)
