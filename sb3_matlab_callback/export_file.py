"""``export_policy_file``: export a model saved with ``model.save()``, safely by default."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.save_util import load_from_zip_file
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from .errors import ExportError, unsupported
from .export import export_policy
from .safe_load import (
    SpacesEnv,
    infer_algorithm,
    load_model_safely,
    loadable_algorithms,
    read_vec_normalize,
    vec_normalize_from_stats,
)


def export_policy_file(
    model_path: str | Path,
    out: str | Path,
    *,
    algorithm: str | type[BaseAlgorithm] | None = None,
    vec_normalize: str | Path | None = None,
    trust_pickle: bool = False,
    critic: bool = False,
) -> Path:
    """Export the policy of a ``model.save()`` zip to a bundle, without running code from it.

    By default nothing in the files is executed: the zip's ``data`` is read as JSON, only
    the entries a policy needs are unpickled through an allowlist of data constructors
    (see :mod:`sb3_matlab_callback.safe_load`), and the weights go through
    ``torch.load(weights_only=True)``. ``trust_pickle=True`` uses SB3's own ``load`` and
    ``VecNormalize.load`` instead, which run whatever the files hold: only for files you
    trust.

    :param model_path: the ``.zip`` written by ``model.save()``.
    :param out: the ``.mat`` bundle to write.
    :param algorithm: the algorithm class or its name (``"SAC"``); inferred from the saved
        policy class when that names exactly one algorithm.
    :param vec_normalize: a ``VecNormalize.save()`` file whose observation statistics the
        bundle carries.
    :param trust_pickle: unpickle with SB3's loaders (runs code from the files).
    :param critic: also export the value side (``sb3.value``, ``sb3.q_value``).
    :return: the bundle's path.
    :raises UnsafePickleError: for anything outside the allowlist; nothing is written.
    """
    cls = _algorithm_class(algorithm)
    if trust_pickle:
        model = _trusted_model(model_path, cls)
    else:
        model = load_model_safely(model_path, cls)
    venv = None
    if vec_normalize is not None:
        venv = (_trusted_vec_normalize(vec_normalize, model) if trust_pickle
                else _safe_vec_normalize(vec_normalize, model))
    return export_policy(model, out, vec_normalize=venv, critic=critic)


def _algorithm_class(algorithm: str | type[BaseAlgorithm] | None) -> type[BaseAlgorithm] | None:
    """Resolve an algorithm name to its class (``None`` stays ``None``)."""
    if algorithm is None or isinstance(algorithm, type):
        return algorithm
    classes = loadable_algorithms()
    if algorithm not in classes:
        raise unsupported("algorithm", str(algorithm), classes)
    return classes[algorithm]


#: Replaced when a trusted model is loaded for export: the replay buffer is never used,
#: and ``HerReplayBuffer`` cannot even be made without the training env.
_NO_REPLAY_BUFFER = {"replay_buffer_class": None, "replay_buffer_kwargs": {}, "buffer_size": 1}


def _trusted_model(path: str | Path, cls: type[BaseAlgorithm] | None) -> BaseAlgorithm:
    """SB3's own ``load`` (runs the file's pickles), without a replay buffer."""
    if cls is None:
        data, _, _ = load_from_zip_file(path, device="cpu")
        cls = infer_algorithm(data["policy_class"], path, data)
    custom = _NO_REPLAY_BUFFER if issubclass(cls, OffPolicyAlgorithm) else None
    try:
        return cls.load(path, device="cpu", custom_objects=custom)
    except AssertionError as exc:
        raise ExportError(f"Cannot load {str(path)!r} as {cls.__name__}: "
                          f"{exc or 'assertion failed'}. Load it in Python with the env it was "
                          f"trained on and call export_policy(model, path).") from exc


def statistics_mismatch(path: str | Path, stats_shape: tuple[int, ...], model: BaseAlgorithm) -> str:
    """Say why statistics of ``stats_shape`` do not fit ``model`` and what to do instead."""
    shape = tuple(getattr(model.observation_space, "shape", None) or ())
    message = (f"The VecNormalize statistics in {str(path)!r} have shape {stats_shape}, but the "
               f"model observes shape {shape}.")
    stacked = (len(stats_shape) == len(shape) and np.prod(shape) > np.prod(stats_shape) > 0
               and all(s % t == 0 for s, t in zip(shape, stats_shape, strict=True)))
    if stacked:
        return message + (
            " They normalize single frames of a VecFrameStack (rl-zoo3 puts VecNormalize inside "
            "it), and the stack holds normalized frames, so a bundle cannot apply them to raw "
            "stacked observations from the files alone. Export from Python with "
            "export_policy(model, path, env=venv), venv being the VecFrameStack(VecNormalize(...)) "
            "the model acts in, or export without --vecnormalize and feed stacks of normalized "
            "frames.")
    return message + " Pass the vecnormalize.pkl saved with this model's run."


def _stats_shape(stats: dict[str, Any]) -> tuple[int, ...] | None:
    state = getattr(stats.get("obs_rms"), "state", None)
    return tuple(np.shape(state.get("mean"))) if isinstance(state, dict) else None


def _safe_vec_normalize(path: str | Path, model: BaseAlgorithm) -> VecNormalize:
    stats = read_vec_normalize(path)
    shape = _stats_shape(stats)
    expected = getattr(model.observation_space, "shape", None)
    if shape is not None and expected is not None and shape != tuple(expected):
        raise ExportError(statistics_mismatch(path, shape, model))
    return vec_normalize_from_stats(stats, model.observation_space, model.action_space, path)


def _trusted_vec_normalize(path: str | Path, model: BaseAlgorithm) -> VecNormalize:
    venv = DummyVecEnv([lambda: SpacesEnv(model.observation_space, model.action_space)])
    try:
        return VecNormalize.load(str(path), venv)
    except (AssertionError, ValueError) as exc:
        found = re.findall(r"\(([\d, ]*)\) != \(", str(exc))
        if found:
            shape = tuple(int(d) for d in found[0].replace(" ", "").split(",") if d)
            raise ExportError(statistics_mismatch(path, shape, model)) from exc
        raise ExportError(f"The VecNormalize statistics in {str(path)!r} do not fit the model's "
                          f"observation space {model.observation_space}: {exc}") from exc


__all__ = ["export_policy_file", "statistics_mismatch"]
