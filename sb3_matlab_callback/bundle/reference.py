"""Reference observations embedded in every bundle, raw (before any VecNormalize).

They mix in-range samples with out-of-range values that saturate tanh and trigger
clipping, so ``sb3.verify`` exercises the whole action post-processing.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

import numpy as np
from gymnasium import spaces

from ..errors import unsupported
from ..translate.spaces import SUPPORTED_SPACES

Observation = np.ndarray | dict[str, np.ndarray]


@singledispatch
def sample_observations(space: spaces.Space, rng: np.random.Generator, n: int) -> Any:
    """Return ``n`` observations of ``space`` stacked along a new first axis."""
    raise unsupported("observation space", type(space).__name__, SUPPORTED_SPACES)


@sample_observations.register
def _(space: spaces.Box, rng: np.random.Generator, n: int) -> np.ndarray:
    if np.issubdtype(space.dtype, np.integer):
        low = np.maximum(space.low, np.iinfo(space.dtype).min)
        high = np.minimum(space.high, np.iinfo(space.dtype).max)
        return rng.integers(low, high, size=(n, *space.shape), endpoint=True).astype(space.dtype)
    low = np.where(np.isfinite(space.low), space.low, -3.0)
    high = np.where(np.isfinite(space.high), space.high, 3.0)
    span = np.maximum(high - low, 1.0)
    # Three in four inside the box, one in four far outside (saturation and clipping).
    inside = rng.uniform(low, high, size=(n, *space.shape))
    outside = np.where(rng.random((n, *space.shape)) < 0.5, low - 3 * span, high + 3 * span)
    far = (np.arange(n) % 4 == 3).reshape((n,) + (1,) * len(space.shape))
    return np.where(far, outside, inside).astype(space.dtype)


@sample_observations.register
def _(space: spaces.Discrete, rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(space.start, space.start + space.n, size=n).astype(space.dtype)


@sample_observations.register
def _(space: spaces.MultiDiscrete, rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, space.nvec, size=(n, *space.nvec.shape)).astype(space.dtype)


@sample_observations.register
def _(space: spaces.MultiBinary, rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2, size=(n, *np.atleast_1d(space.n))).astype(space.dtype)


@sample_observations.register
def _(space: spaces.Dict, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {key: sample_observations(sub, rng, n) for key, sub in space.spaces.items()}
