"""Gymnasium spaces: their description in a bundle and their preprocessing inputs.

One small ``singledispatch`` overload per space type, mirroring SB3's
``preprocess_obs`` (not ``gymnasium.spaces.flatten``).
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.preprocessing import is_image_space

from .errors import unsupported
from .program import Program

SUPPORTED_SPACES = ("Box", "Discrete", "MultiDiscrete", "MultiBinary", "Dict")


def _unsupported_space(space: spaces.Space, role: str) -> Exception:
    return unsupported(f"{role} space", type(space).__name__, SUPPORTED_SPACES)


# --------------------------------------------------------------------------- describe
@singledispatch
def describe_space(space: spaces.Space) -> dict[str, Any]:
    """Return the bundle's description of ``space`` (a MATLAB struct)."""
    raise _unsupported_space(space, "")


@describe_space.register
def _(space: spaces.Box) -> dict[str, Any]:
    return {
        "type": "Box",
        "shape": np.array(space.shape, dtype=np.float64).reshape(1, -1),
        "low": _as_matlab_array(space.low),
        "high": _as_matlab_array(space.high),
        "dtype": str(space.dtype),
    }


@describe_space.register
def _(space: spaces.Discrete) -> dict[str, Any]:
    return {"type": "Discrete", "shape": np.zeros((1, 0)), "n": float(space.n),
            "start": float(space.start)}


@describe_space.register
def _(space: spaces.MultiDiscrete) -> dict[str, Any]:
    return {"type": "MultiDiscrete", "shape": np.array(space.shape, dtype=np.float64).reshape(1, -1),
            "nvec": space.nvec.astype(np.float64).reshape(1, -1)}


@describe_space.register
def _(space: spaces.MultiBinary) -> dict[str, Any]:
    shape = np.atleast_1d(np.asarray(space.n))
    return {"type": "MultiBinary", "shape": shape.astype(np.float64).reshape(1, -1)}


@describe_space.register
def _(space: spaces.Dict) -> dict[str, Any]:
    keys = list(space.spaces)
    return {
        "type": "Dict",
        "keys": np.array(keys, dtype=object).reshape(1, -1),
        "spaces": {key: describe_space(sub) for key, sub in space.spaces.items()},
    }


def _as_matlab_array(values: np.ndarray) -> np.ndarray:
    """Bounds as doubles, a 1-D bound as a row vector (+-Inf kept)."""
    values = np.asarray(values, dtype=np.float64)
    return values.reshape(1, -1) if values.ndim == 1 else values


# --------------------------------------------------------------------------- inputs
@singledispatch
def add_observation_input(
    space: spaces.Space, program: Program, key: str, *, normalize_images: bool = True,
    normalizer: dict[str, Any] | None = None,
) -> int:
    """Add the input spec that preprocesses ``space`` as SB3's ``preprocess_obs`` does.

    :param space: the (sub-)space of the observation.
    :param program: the program receiving the input.
    :param key: the Dict key, or ``""`` for a plain observation.
    :param normalize_images: the policy's ``normalize_images``.
    :param normalizer: VecNormalize statistics for this key, if any.
    :return: the register holding the ``N x d`` preprocessed observation.
    """
    raise _unsupported_space(space, "observation")


@add_observation_input.register
def _(space: spaces.Box, program: Program, key: str, *, normalize_images: bool = True,
      normalizer: dict[str, Any] | None = None) -> int:
    scale = 255.0 if (normalize_images and is_image_space(space)) else 1.0
    return program.add_input(key, "box", shape=_shape(space.shape), scale=scale,
                             **_normalizer_params(normalizer))


@add_observation_input.register
def _(space: spaces.Discrete, program: Program, key: str, *, normalize_images: bool = True,
      normalizer: dict[str, Any] | None = None) -> int:
    return program.add_input(key, "onehot", shape=_shape(()), nvec=np.array([[float(space.n)]]),
                             **_normalizer_params(normalizer))


@add_observation_input.register
def _(space: spaces.MultiDiscrete, program: Program, key: str, *, normalize_images: bool = True,
      normalizer: dict[str, Any] | None = None) -> int:
    return program.add_input(key, "onehot", shape=_shape(space.shape),
                             nvec=space.nvec.astype(np.float64).reshape(1, -1),
                             **_normalizer_params(normalizer))


@add_observation_input.register
def _(space: spaces.MultiBinary, program: Program, key: str, *, normalize_images: bool = True,
      normalizer: dict[str, Any] | None = None) -> int:
    return program.add_input(key, "box", shape=_shape(np.atleast_1d(space.n)), scale=1.0,
                             **_normalizer_params(normalizer))


def _shape(shape: Any) -> np.ndarray:
    return np.array(tuple(int(s) for s in shape), dtype=np.float64).reshape(1, -1)


def _normalizer_params(normalizer: dict[str, Any] | None) -> dict[str, Any]:
    if normalizer is None:
        return {"normalize": 0.0}
    return {"normalize": 1.0, **normalizer}
