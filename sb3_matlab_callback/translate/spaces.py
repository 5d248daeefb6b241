"""Gymnasium spaces: their description in a bundle and their preprocessing inputs.

One small ``singledispatch`` overload per space type, mirroring SB3's
``preprocess_obs`` (not ``gymnasium.spaces.flatten``).
"""

from __future__ import annotations

import re
from functools import singledispatch
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.preprocessing import is_image_space

from ..errors import UnsupportedError, unsupported
from .program import Program

SUPPORTED_SPACES = ("Box", "Discrete", "MultiDiscrete", "MultiBinary", "Dict")


SPACE_HINT = (
    "SB3 policies take these spaces only; flatten other spaces with a gymnasium wrapper "
    "(e.g. gymnasium.wrappers.FlattenObservation) or turn a Tuple into a Dict."
)


def _unsupported_space(space: spaces.Space, role: str) -> Exception:
    kind = f"{role} space" if role else "space"
    return unsupported(kind, type(space).__name__, SUPPORTED_SPACES, SPACE_HINT)


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
    fields = dict_field_names(keys)
    return {
        "type": "Dict",
        "keys": np.array(keys, dtype=object).reshape(1, -1),
        "fields": np.array([fields[key] for key in keys], dtype=object).reshape(1, -1),
        "spaces": {fields[key]: describe_space(sub) for key, sub in space.spaces.items()},
    }


#: MATLAB's reserved words (``iskeyword``): never a field name.
MATLAB_KEYWORDS = frozenset(
    "break case catch classdef continue else elseif end for function global if otherwise "
    "parfor persistent return spmd switch try while".split()
)
#: ``namelengthmax``: MATLAB's longest name.
MATLAB_NAME_LENGTH = 63


def matlab_field_name(key: str) -> str:
    """Return the struct field name of a Dict key, by MATLAB's ``makeValidName`` rule.

    Each character that is not an ASCII letter, digit or ``_`` becomes ``_``; a name
    that does not start with a letter (or is a MATLAB keyword) gets the prefix ``x``;
    names are cut to MATLAB's 63 characters. ``"achieved-goal"`` -> ``"achieved_goal"``,
    ``"1st"`` -> ``"x1st"``, ``"_private"`` -> ``"x_private"``.

    :param key: the Dict key.
    :return: a valid MATLAB identifier.
    """
    name = re.sub(r"[^A-Za-z0-9_]", "_", str(key))
    if not re.match(r"[A-Za-z]", name) or name in MATLAB_KEYWORDS:
        name = "x" + name
    return name[:MATLAB_NAME_LENGTH]


def dict_field_names(keys: list[str]) -> dict[str, str]:
    """Map each Dict key to its MATLAB field name; two keys on one name fail, naming both.

    :param keys: the Dict keys, in the space's order.
    :return: ``{key: field}``.
    :raises UnsupportedError: when two keys map to the same field name.
    """
    fields: dict[str, str] = {}
    owner: dict[str, str] = {}
    for key in keys:
        field = matlab_field_name(key)
        if field in owner:
            raise UnsupportedError(
                f"Dict observation keys {owner[field]!r} and {key!r} both map to the MATLAB "
                f"struct field {field!r} (each character that is not a letter, digit or '_' "
                "becomes '_'; a name not starting with a letter gets the prefix 'x'). Rename "
                "one of the keys, e.g. with a gymnasium ObservationWrapper."
            )
        owner[field] = key
        fields[key] = field
    return fields


def _as_matlab_array(values: np.ndarray) -> np.ndarray:
    """Bounds as doubles, a 1-D bound as a row vector (+-Inf kept)."""
    values = np.asarray(values, dtype=np.float64)
    return values.reshape(1, -1) if values.ndim == 1 else values


# --------------------------------------------------------------------------- inputs
#: How the MATLAB runtime takes one image: as the env gives it, channel-last or first.
IMAGE_LAYOUTS = ("HWC", "CHW")


@singledispatch
def add_observation_input(
    space: spaces.Space, program: Program, key: str, *, normalize_images: bool = True,
    normalizer: dict[str, Any] | None = None, image_layout: str = "HWC",
) -> int:
    """Add the input spec that preprocesses ``space`` as SB3's ``preprocess_obs`` does.

    :param space: the (sub-)space of the observation, as the policy sees it.
    :param program: the program receiving the input.
    :param key: the Dict key, or ``""`` for a plain observation.
    :param normalize_images: the policy's ``normalize_images``.
    :param normalizer: VecNormalize statistics for this key, if any.
    :param image_layout: for an image space (SB3's ``is_image_space``), how the env gives
        one image: ``"HWC"`` (SB3 transposed it with ``VecTransposeImage``) or ``"CHW"``.
    :return: the register holding the preprocessed observation: ``N x d``, or for a 3-D
        Box ``N x H x W x C`` (see :attr:`Program.spatial`).
    """
    raise _unsupported_space(space, "observation")


@add_observation_input.register
def _(space: spaces.Box, program: Program, key: str, *, normalize_images: bool = True,
      normalizer: dict[str, Any] | None = None, image_layout: str = "HWC") -> int:
    image = is_image_space(space)
    scale = 255.0 if (normalize_images and image) else 1.0
    if len(space.shape) != 3:
        return program.add_input(key, "box", shape=_shape(space.shape), scale=scale,
                                 **_normalizer_params(normalizer))
    if image_layout not in IMAGE_LAYOUTS:
        raise ValueError(f"image_layout must be one of {IMAGE_LAYOUTS}, got {image_layout!r}")
    # SB3 transposes only real images (uint8 in 0..255); any other 3-D Box is taken as is.
    reg = program.add_input(key, "image", shape=_shape(space.shape), scale=scale,
                            layout=image_layout if image else "CHW",
                            transposable=float(image),
                            **_normalizer_params(normalizer, space.shape))
    program.spatial[reg] = tuple(int(s) for s in space.shape)
    return reg


@add_observation_input.register
def _(space: spaces.Discrete, program: Program, key: str, *, normalize_images: bool = True,
      normalizer: dict[str, Any] | None = None, image_layout: str = "HWC") -> int:
    if int(space.start) != 0:
        raise UnsupportedError(
            f"Unsupported observation space {space} (Discrete with start={int(space.start)}): "
            "SB3's preprocess_obs one-hot encodes the raw value and ignores start, so the "
            "policy cannot see these observations correctly. Use Discrete(n) (start=0), e.g. "
            "with a gymnasium ObservationWrapper that subtracts start."
        )
    return program.add_input(key, "onehot", shape=_shape(()), nvec=np.array([[float(space.n)]]),
                             **_normalizer_params(normalizer))


@add_observation_input.register
def _(space: spaces.MultiDiscrete, program: Program, key: str, *, normalize_images: bool = True,
      normalizer: dict[str, Any] | None = None, image_layout: str = "HWC") -> int:
    start = np.asarray(getattr(space, "start", 0))
    if space.nvec.ndim != 1 or np.any(start != 0):
        raise UnsupportedError(
            f"Unsupported observation space {space}: SB3's preprocess_obs handles only a "
            "1-D MultiDiscrete with start=0. Flatten it and subtract start with a gymnasium "
            "ObservationWrapper."
        )
    return program.add_input(key, "onehot", shape=_shape(space.shape),
                             nvec=space.nvec.astype(np.float64).reshape(1, -1),
                             **_normalizer_params(normalizer))


@add_observation_input.register
def _(space: spaces.MultiBinary, program: Program, key: str, *, normalize_images: bool = True,
      normalizer: dict[str, Any] | None = None, image_layout: str = "HWC") -> int:
    return program.add_input(key, "box", shape=_shape(np.atleast_1d(space.n)), scale=1.0,
                             **_normalizer_params(normalizer))


def _shape(shape: Any) -> np.ndarray:
    return np.array(tuple(int(s) for s in shape), dtype=np.float64).reshape(1, -1)


def _normalizer_params(normalizer: dict[str, Any] | None,
                       image_shape: tuple[int, ...] | None = None) -> dict[str, Any]:
    """VecNormalize fields: ``1 x d`` statistics, or ``1 x H x W x C`` for an image input."""
    if normalizer is None:
        return {"normalize": 0.0}
    if image_shape is None:
        return {"normalize": 1.0, **normalizer}
    channels, height, width = image_shape

    def spatial(stat: Any) -> np.ndarray:
        stat = np.asarray(stat, dtype=np.float64).reshape(channels, height, width)
        return stat.transpose(1, 2, 0).reshape(1, height, width, channels)

    return {"normalize": 1.0, **normalizer,
            "mean": spatial(normalizer["mean"]), "var": spatial(normalizer["var"])}
