"""Export Stable-Baselines3 policies to MATLAB/Octave as exact, versioned ``.mat`` bundles."""

from __future__ import annotations

__version__ = "0.1.0"

from pathlib import Path

from .bundle.bundle import load_bundle
from .callback import MatlabExportCallback
from .deliver.manifest import read_manifest
from .errors import (
    BundleError,
    ExportError,
    ExportFolderError,
    ExportWarning,
    ManifestError,
    NonFiniteError,
    UnsupportedError,
)
from .experiments import ExperimentInterrupted, ExperimentRun, run_experiment
from .export import export_policy
from .export_file import export_policy_file
from .generate import generate_matlab_function
from .safe_load import UnsafePickleError
from .translate.builder import register_features_extractor
from .translate.extractors import register_extractor, supported_algorithms
from .translate.modules import register_module
from .translate.wrappers import register_passthrough_wrapper


def matlab_path() -> Path:
    """Return the folder to ``addpath`` in MATLAB/Octave: the one that contains ``+sb3``."""
    return Path(__file__).resolve().parent / "matlab"


__all__ = [
    "BundleError",
    "ExperimentInterrupted",
    "ExperimentRun",
    "ExportError",
    "ExportFolderError",
    "ExportWarning",
    "ManifestError",
    "MatlabExportCallback",
    "NonFiniteError",
    "UnsafePickleError",
    "UnsupportedError",
    "__version__",
    "export_policy",
    "export_policy_file",
    "generate_matlab_function",
    "load_bundle",
    "matlab_path",
    "read_manifest",
    "register_extractor",
    "register_features_extractor",
    "register_module",
    "register_passthrough_wrapper",
    "run_experiment",
    "supported_algorithms",
]
