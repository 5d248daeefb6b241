"""Bundle format v1: build a bundle from a live model, encode it as MAT v5, read it back.

Building is the *snapshot*: it copies weights and statistics into NumPy arrays and
computes the reference actions, so the model may change right after. Encoding and
writing touch no model state. Field by field, the format is in docs/bundle-format.md.
"""

from __future__ import annotations

import io
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
import stable_baselines3
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.vec_env import VecNormalize, VecTransposeImage, unwrap_vec_wrapper

from . import __version__
from .builder import Builder
from .errors import BundleError
from .extractors import find_extractor
from .program import Program
from .reference import sample_observations
from .spaces import describe_space

BUNDLE_FORMAT = "sb3-matlab-bundle"
BUNDLE_FORMAT_VERSION = 1
NUM_REFERENCE = 16
#: Per unit of action magnitude: float32 (torch) against float64 (runtime).
REFERENCE_RTOL = 1e-5


def build_program(model: BaseAlgorithm, vec_normalize: VecNormalize | None = None) -> Program:
    """Translate ``model``'s actor into a program (raises before anything is written)."""
    extractor = find_extractor(model)
    describe_space(model.action_space)  # unsupported action spaces fail here, before anything
    builder = Builder(
        observation_space=model.policy.observation_space,
        normalize_images=getattr(model.policy, "normalize_images", True),
        obs_stats=observation_stats(vec_normalize),
        image_layouts=image_layouts(model),
    )
    extractor(model, builder)
    return builder.program


def image_layouts(model: BaseAlgorithm) -> dict[str, str]:
    """Return how the model's env gives each image observation (by Dict key, ``""`` if plain).

    SB3 wraps an env with channel-last images in ``VecTransposeImage``, so the policy
    sees ``C x H x W``; such images are ``"HWC"``. Images of an env that was not
    transposed are ``"CHW"``. Without an env (a model loaded without one) every image
    is ``"HWC"``, the usual layout of image envs.
    """
    space = model.policy.observation_space
    keys = list(space.spaces) if isinstance(space, spaces.Dict) else [""]
    env = getattr(model, "env", None)
    if env is None:
        return dict.fromkeys(keys, "HWC")
    transpose = unwrap_vec_wrapper(env, VecTransposeImage)
    if transpose is None or transpose.skip:
        return dict.fromkeys(keys, "CHW")
    if isinstance(space, spaces.Dict):
        return {key: "HWC" if key in transpose.image_space_keys else "CHW" for key in keys}
    return {"": "HWC"}


def env_layout(observations: Any, space: spaces.Space, layouts: dict[str, str]) -> Any:
    """Put image observations (a batch, policy layout ``N x C x H x W``) in the env's layout."""
    if isinstance(space, spaces.Dict):
        return {key: env_layout(obs, space[key], {"": layouts.get(key, "HWC")})
                for key, obs in observations.items()}
    observations = np.asarray(observations)
    if (layouts.get("") == "HWC" and is_image_space(space)
            and observations.shape[1:] == space.shape):
        return observations.transpose(0, 2, 3, 1)
    return observations


def observation_stats(vec_normalize: VecNormalize | None) -> dict[str, dict[str, Any]]:
    """VecNormalize observation statistics by Dict key (``""`` for a plain observation)."""
    if vec_normalize is None or not vec_normalize.norm_obs:
        return {}
    rms = vec_normalize.obs_rms
    items = rms.items() if isinstance(rms, dict) else [("", rms)]
    keys = vec_normalize.norm_obs_keys if isinstance(rms, dict) else [""]
    return {
        key: {
            "mean": np.array(stat.mean, dtype=np.float64).reshape(1, -1),
            "var": np.array(stat.var, dtype=np.float64).reshape(1, -1),
            "epsilon": float(vec_normalize.epsilon),
            "clip_obs": float(vec_normalize.clip_obs),
        }
        for key, stat in items
        if key in keys
    }


def build_bundle(
    model: BaseAlgorithm,
    *,
    vec_normalize: VecNormalize | None = None,
    version: int = 1,
    num_timesteps: int | None = None,
    reference_observations: Any = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Snapshot ``model`` into a bundle: a dict of MATLAB-ready values.

    :param model: any supported SB3 / sb3-contrib algorithm.
    :param vec_normalize: a ``VecNormalize`` whose observation statistics the runtime applies.
    :param version: the checkpoint version recorded in the bundle.
    :param num_timesteps: defaults to ``model.num_timesteps``.
    :param reference_observations: raw observations (a batch) to embed; sampled if omitted.
    :param seed: seed for the sampled reference observations.
    :return: the bundle, ready for :func:`encode_bundle`.
    """
    program = build_program(model, vec_normalize)
    if reference_observations is None:
        rng = np.random.default_rng(seed)
        reference_observations = sample_observations(model.observation_space, rng, NUM_REFERENCE)
    actions = reference_actions(model, reference_observations, vec_normalize)
    reference_observations = env_layout(reference_observations, model.policy.observation_space,
                                        image_layouts(model))
    scale = max(1.0, float(np.max(np.abs(actions)))) if actions.size else 1.0
    return {
        "format": BUNDLE_FORMAT,
        "format_version": float(BUNDLE_FORMAT_VERSION),
        "algorithm": _algorithm_name(model),
        "policy_class": type(model.policy).__name__,
        "version": float(version),
        "num_timesteps": float(model.num_timesteps if num_timesteps is None else num_timesteps),
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "producer": {
            "package": "sb3-matlab-callback",
            "package_version": __version__,
            "sb3_version": stable_baselines3.__version__,
            "torch_version": th.__version__,
            "python_version": platform.python_version(),
        },
        "observation_space": describe_space(model.observation_space),
        "action_space": describe_space(model.action_space),
        "vec_normalize": float(vec_normalize is not None and vec_normalize.norm_obs),
        **program_fields(program),
        "reference": {
            "observations": _one_per_row(reference_observations),
            "actions": actions,
            "atol": REFERENCE_RTOL * scale,
        },
    }


def _one_per_row(observations: Any) -> Any:
    """Give 1-D batches (Discrete observations) one row per observation, as MATLAB takes them."""
    if isinstance(observations, dict):
        return {key: _one_per_row(value) for key, value in observations.items()}
    observations = np.asarray(observations)
    return observations.reshape(-1, 1) if observations.ndim == 1 else observations


def reference_actions(
    model: BaseAlgorithm, observations: Any, vec_normalize: VecNormalize | None,
) -> np.ndarray:
    """SB3's own ``predict(..., deterministic=True)`` on raw ``observations``, as N x k."""
    obs = vec_normalize.normalize_obs(observations) if vec_normalize is not None else observations
    actions, _ = model.predict(obs, deterministic=True)
    actions = np.asarray(actions, dtype=np.float64)
    return actions.reshape(actions.shape[0], -1)


def program_fields(program: Program) -> dict[str, Any]:
    """Return the program as bundle fields: ``inputs``, ``ops``, ``output``, ``num_registers``."""
    inputs = [{"key": i.key, "kind": i.kind, "output": float(i.output), **i.params}
              for i in program.inputs]
    ops = [{"op": o.op, "inputs": np.array(o.inputs, dtype=np.float64).reshape(1, -1),
            "output": float(o.output), "mode": o.mode, **o.params} for o in program.ops]
    return {
        "inputs": _cell(inputs),
        "ops": _cell(ops),
        "output": float(program.output),
        "num_registers": float(program.num_registers),
        "recurrent": program.state or {"kind": "none"},
    }


def _cell(items: list[dict[str, Any]]) -> np.ndarray:
    cell = np.empty((1, len(items)), dtype=object)
    for index, item in enumerate(items):
        cell[0, index] = item
    return cell


def _algorithm_name(model: BaseAlgorithm) -> str:
    for cls in type(model).__mro__:
        if cls.__module__.startswith(("stable_baselines3", "sb3_contrib")):
            return cls.__name__
    return type(model).__name__


def encode_bundle(bundle: dict[str, Any]) -> bytes:
    """Serialize a bundle as a compressed MAT v5 file image."""
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, _matlab_ready(bundle), format="5", do_compression=True,
                     long_field_names=True, oned_as="row")
    return buffer.getvalue()


def _matlab_ready(value: Any) -> Any:
    """Replace what savemat cannot store (None, bools, nested lists) with MATLAB values."""
    if isinstance(value, dict):
        return {key: _matlab_ready(item) for key, item in value.items()}
    if isinstance(value, np.ndarray) and value.dtype == object:
        out = np.empty(value.shape, dtype=object)
        for index, item in np.ndenumerate(value):
            out[index] = _matlab_ready(item)
        return out
    if value is None:
        return np.zeros((0, 0))
    if isinstance(value, bool | np.bool_):
        return float(value)
    return value


def load_bundle(path: str | Path) -> dict[str, Any]:
    """Read a bundle back (for inspection and tests).

    :raises BundleError: naming the file when it is missing, unreadable or not a bundle.
    """
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"Bundle file {str(path)!r} does not exist.")
    try:
        data = scipy.io.loadmat(path, simplify_cells=True)
    except Exception as exc:
        raise BundleError(f"Bundle file {str(path)!r} is corrupt or not a MAT file: {exc}") from exc
    if data.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"File {str(path)!r} is a MAT file but not an sb3-matlab bundle.")
    if int(data.get("format_version", -1)) != BUNDLE_FORMAT_VERSION:
        raise BundleError(
            f"Bundle {str(path)!r} has format_version {data.get('format_version')}; "
            f"this package reads version {BUNDLE_FORMAT_VERSION}."
        )
    return data
