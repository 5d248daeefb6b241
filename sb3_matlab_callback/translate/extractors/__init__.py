"""Per-algorithm extractors, one module per algorithm family, and their registry.

sb3-contrib's algorithms (the ``contrib`` extra) register only when it is installed.
"""

from . import dqn, ppo, sac, td3  # noqa: F401  (registers the built-in extractors)
from .registry import HAS_CONTRIB, find_extractor, register_extractor, supported_algorithms

if HAS_CONTRIB:
    from . import ars, recurrent_ppo  # noqa: F401

__all__ = ["find_extractor", "register_extractor", "supported_algorithms"]
