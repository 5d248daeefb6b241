"""Per-algorithm extractors, one module per algorithm family, and their registry."""

from . import ppo, sac, td3  # noqa: F401  (registers the built-in extractors)
from .registry import find_extractor, register_extractor, supported_algorithms

__all__ = ["find_extractor", "register_extractor", "supported_algorithms"]
