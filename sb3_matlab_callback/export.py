"""``export_policy``: one bundle for one model, written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

from .bundle import build_bundle, encode_bundle
from .errors import BundleError
from .writer import atomic_write_bytes, check_writable_folder


def export_policy(
    model: BaseAlgorithm,
    path: str | Path,
    *,
    vec_normalize: VecNormalize | None = None,
    version: int = 1,
    reference_observations: Any = None,
) -> Path:
    """Write one bundle for ``model`` to ``path`` and return that path.

    :param model: any supported SB3 or sb3-contrib algorithm.
    :param path: the ``.mat`` file to write; its folder must exist.
    :param vec_normalize: a ``VecNormalize`` whose observation statistics the bundle
        carries, so MATLAB feeds raw observations.
    :param version: the checkpoint version recorded in the bundle.
    :param reference_observations: raw observations (a batch) to embed instead of
        sampled ones.
    :return: ``path`` as a :class:`pathlib.Path`.
    :raises UnsupportedError: for anything that cannot be exported; nothing is written.
    """
    path = Path(path)
    if path.suffix.lower() != ".mat":
        raise BundleError(f"Bundle path {str(path)!r} must end in '.mat' (MATLAB's load needs it).")
    check_writable_folder(path.parent if str(path.parent) else Path("."))
    if vec_normalize is not None and not isinstance(vec_normalize, VecNormalize):
        raise TypeError(f"vec_normalize must be a VecNormalize, got {type(vec_normalize).__name__}.")
    bundle = build_bundle(model, vec_normalize=vec_normalize, version=version,
                          reference_observations=reference_observations)
    atomic_write_bytes(path, encode_bundle(bundle))
    return path
