"""Export Stable-Baselines3 policies to MATLAB/Octave as exact, versioned ``.mat`` bundles."""

from __future__ import annotations

__version__ = "0.1.0"

from pathlib import Path

from .builder import register_features_extractor
from .bundle import load_bundle
from .callback import MatlabExportCallback
from .errors import (
    BundleError,
    ExportError,
    ExportFolderError,
    ExportWarning,
    ManifestError,
    UnsupportedError,
)
from .export import export_policy
from .extractors import register_extractor, supported_algorithms
from .manifest import read_manifest
from .modules import register_module


def matlab_path() -> Path:
    """Return the folder to ``addpath`` in MATLAB/Octave: the one that contains ``+sb3``."""
    return Path(__file__).resolve().parent / "matlab"


__all__ = [
    "BundleError",
    "ExportError",
    "ExportFolderError",
    "ExportWarning",
    "ManifestError",
    "MatlabExportCallback",
    "UnsupportedError",
    "__version__",
    "export_policy",
    "load_bundle",
    "matlab_path",
    "read_manifest",
    "register_extractor",
    "register_features_extractor",
    "register_module",
    "supported_algorithms",
]
