"""``export_policy``: one bundle for one model, written atomically."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from .bundle.bundle import active_vec_normalize, build_bundle, encode_bundle
from .deliver.writer import atomic_write_bytes, check_writable_folder
from .errors import BundleError
from .translate.wrappers import EnvFolding, fold_env, place_vec_normalize

#: The smallest bound taken for VecNormalize's ``clip_obs`` (its default is 10).
MIN_CLIP_OBS = 5.0


def export_policy(
    model: BaseAlgorithm,
    path: str | Path,
    *,
    vec_normalize: VecNormalize | Literal[False] | None = None,
    env: VecEnv | None = None,
    critic: bool = False,
    version: int = 1,
    reference_observations: Any = None,
    compress: bool = False,
) -> Path:
    """Write one bundle for ``model`` to ``path`` and return that path.

    :param model: any supported SB3 or sb3-contrib algorithm.
    :param path: the ``.mat`` file to write; its folder must exist.
    :param vec_normalize: a ``VecNormalize`` whose observation statistics the bundle
        carries, so MATLAB feeds raw observations. When not given, the model's own
        (``model.get_vec_normalize_env()``, if it normalizes observations) is used, and
        the bundle records ``vec_normalize_source = "model_env"``. ``False`` exports
        without statistics: MATLAB must then feed normalized observations. With ``env``
        given, its ``VecNormalize`` is the one used when this is not given
        (``vec_normalize_source = "env"``).
    :param env: the VecEnv the model acts in (default: ``model.get_env()``). Its wrappers are
        folded into the bundle: a ``VecFrameStack`` (``sb3.predict`` then takes single frames
        and carries the stack in ``'State'``) and a ``VecNormalize`` inside or outside it,
        in the order the env applies them. Other wrappers that may change observations
        are refused (``UnsupportedError`` naming the wrapper).
    :param critic: also export the value side, for ``sb3.value`` (on-policy) and
        ``sb3.q_value`` (SAC, TD3, DDPG, TQC, CrossQ, DQN, QR-DQN).
    :param version: the checkpoint version recorded in the bundle.
    :param reference_observations: raw observations (a batch) to embed instead of
        sampled ones.
    :param compress: zlib-compress the file (smaller, much slower to write). Off by
        default: float32 weights are stored as ``single``, uncompressed.
    :return: ``path`` as a :class:`pathlib.Path`.
    :raises UnsupportedError: for anything that cannot be exported; nothing is written.
    """
    path = Path(path)
    if path.suffix.lower() != ".mat":
        raise BundleError(f"Bundle path {str(path)!r} must end in '.mat' (MATLAB's load needs it).")
    check_writable_folder(path.parent if str(path.parent) else Path("."))
    if not (vec_normalize is None or vec_normalize is False
            or isinstance(vec_normalize, VecNormalize)):
        raise TypeError(f"vec_normalize must be a VecNormalize, None or False, got "
                        f"{type(vec_normalize).__name__}.")
    if not isinstance(critic, bool | np.bool_):
        raise TypeError(f"critic must be True or False, got {critic!r}.")
    if not isinstance(compress, bool | np.bool_):
        raise TypeError(f"compress must be True or False, got {compress!r}.")
    if env is not None and isinstance(env, VecEnv):
        # the env as the model sees it: SB3 adds VecTransposeImage for channel-last images
        env = BaseAlgorithm._wrap_env(env, verbose=0, monitor_wrapper=False)
    get_env = getattr(model, "get_env", None)
    folding = fold_env((get_env() if callable(get_env) else None) if env is None else env)
    source = "argument"
    if vec_normalize is None and env is not None:
        vec_normalize, source = folding.vec_normalize, "env"
    elif vec_normalize is None:
        vec_normalize, source = _model_vec_normalize(model, folding), "model_env"
    vec_normalize = active_vec_normalize(vec_normalize or None)
    bundle = build_bundle(model, vec_normalize=vec_normalize, version=version,
                          reference_observations=reference_observations,
                          vec_normalize_source=source,
                          env_folding=place_vec_normalize(folding, vec_normalize),
                          critic=bool(critic))
    atomic_write_bytes(path, encode_bundle(bundle, compress=bool(compress)))
    return path


def _model_vec_normalize(model: BaseAlgorithm, folding: EnvFolding) -> VecNormalize | None:
    """Return the model's own ``VecNormalize``, if it normalizes observations.

    Without one, warn when the model has no env and its observation space says it was
    trained on normalized observations.
    """
    venv = folding.vec_normalize
    get = getattr(model, "get_vec_normalize_env", None)
    if venv is None and folding.env is None and callable(get):
        venv = active_vec_normalize(get())
    if venv is None and getattr(model, "env", True) is None and _looks_normalized(model):
        warnings.warn(
            f"This {type(model).__name__} has no env, and its observation space "
            f"{model.observation_space} looks like VecNormalize's (every bound is +-clip_obs): "
            "it was probably trained on normalized observations. Pass vec_normalize= (e.g. "
            "VecNormalize.load('vecnormalize.pkl', venv)) so MATLAB can feed raw observations, "
            "or vec_normalize=False to silence this warning.", UserWarning, stacklevel=3)
    return venv


def _looks_normalized(model: BaseAlgorithm) -> bool:
    """Whether a Box observation space (or a Dict key) has VecNormalize's image bounds.

    VecNormalize replaces an image space by ``Box(-clip_obs, clip_obs)`` (float32); that
    is the one trace it leaves in a saved model. Bounds below ``MIN_CLIP_OBS`` are taken
    for an ordinary normalized space (``Box(-1, 1)``), not for VecNormalize's (default 10).
    """
    space = model.observation_space
    subspaces = space.spaces.values() if isinstance(space, spaces.Dict) else [space]
    for sub in subspaces:
        if (isinstance(sub, spaces.Box) and len(sub.shape) == 3 and sub.dtype == np.float32
                and np.all(sub.low == -sub.high) and np.unique(sub.high).size == 1
                and MIN_CLIP_OBS <= float(sub.high.flat[0]) < np.inf):
            return True
    return False
