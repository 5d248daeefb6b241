"""The registry of per-algorithm extractors.

An extractor is ``fn(model, builder) -> register``: it translates the model's actor
into ``builder.program`` and returns the action register. Lookup walks the model
class's MRO, so subclasses (DDPG of TD3, a user's subclass of SAC) resolve, unless they
override a method that shapes the action (:data:`ACTION_METHODS`): the bundle would then
reproduce the parent's actions, not theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy

from ...errors import UnsupportedError, unsupported
from ..builder import Builder

Extractor = Callable[[BaseAlgorithm, Builder], int]

#: Methods of an algorithm or policy that shape the action ``predict`` returns. A class
#: that overrides one of them is exported only by an extractor registered for it.
ACTION_METHODS = ("predict", "_predict", "forward", "scale_action", "unscale_action")


def _has_contrib() -> bool:
    try:
        import sb3_contrib  # noqa: F401
    except ImportError:
        return False
    return True


#: Whether sb3-contrib (the ``contrib`` extra) is installed; its algorithms register only then.
HAS_CONTRIB = _has_contrib()

_EXTRACTORS: dict[type, Extractor] = {}
_POLICIES: dict[type, tuple[type, ...]] = {}

EXTRACTOR_HINT = (
    "Register one with @sb3_matlab_callback.register_extractor(YourAlgorithm, "
    "policies=(YourPolicy,)) (see README, 'Extending')."
)


def register_extractor(
    algorithm: type[BaseAlgorithm], policies: Iterable[type[BasePolicy]] = (),
) -> Callable[[Extractor], Extractor]:
    """Register the decorated function as the extractor of ``algorithm`` and its subclasses.

    :param algorithm: the algorithm class, e.g. ``stable_baselines3.SAC``.
    :param policies: the exact policy classes the extractor understands. A model whose
        policy is of another class (a user's subclass may override ``forward``) is refused.
    :return: a decorator that registers and returns the extractor.
    """

    def decorator(fn: Extractor) -> Extractor:
        _EXTRACTORS[algorithm] = fn
        _POLICIES[algorithm] = tuple(policies)
        return fn

    return decorator


def supported_algorithms() -> list[str]:
    """Return the names of the algorithms that have an extractor."""
    return sorted(cls.__name__ for cls in _EXTRACTORS)


def algorithm_classes() -> list[type]:
    """Return the algorithm classes that have an extractor."""
    return list(_EXTRACTORS)


def algorithms_by_name() -> dict[str, type[BaseAlgorithm]]:
    """Return algorithm classes by name: the exportable ones and their SB3 / sb3-contrib subclasses."""
    classes = {cls.__name__: cls for cls in algorithm_classes()}
    pending = list(classes.values())
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub.__module__.startswith(("stable_baselines3", "sb3_contrib")):
                classes.setdefault(sub.__name__, sub)
                pending.append(sub)
    return classes


def find_extractor(model: BaseAlgorithm) -> Extractor:
    """Return the extractor for ``model``, checking its policy class.

    :raises UnsupportedError: naming the algorithm or policy class.
    """
    for cls in type(model).__mro__:
        if cls in _EXTRACTORS:
            _check_overrides(model, cls, "algorithm")
            _check_policy(cls, model.policy)
            return _EXTRACTORS[cls]
    raise unsupported("algorithm", type(model).__name__, supported_algorithms(), EXTRACTOR_HINT)


def _check_policy(algorithm: type, policy: BasePolicy) -> None:
    allowed = _POLICIES[algorithm]
    if allowed and type(policy) not in allowed:
        base = next((c for c in type(policy).__mro__ if c in allowed), None)
        if base is not None:
            _check_overrides(policy, base, "policy")
        raise unsupported(
            f"policy class for {algorithm.__name__}", type(policy).__name__,
            [p.__name__ for p in allowed], EXTRACTOR_HINT,
        )
    if not allowed:  # the extractor takes any policy: still refuse per-instance overrides
        _check_overrides(policy, type(policy), "policy")


def _check_overrides(obj: object, registered: type, kind: str) -> None:
    """Refuse ``obj`` when it overrides one of :data:`ACTION_METHODS` against ``registered``.

    Checked: the instance's own attributes, and each class of its MRO before
    ``registered`` (the nearest class with an extractor, or an allowed policy class).

    :raises UnsupportedError: naming the class and the method.
    """
    own = getattr(obj, "__dict__", {})
    for method in ACTION_METHODS:
        if method in own:
            raise UnsupportedError(
                f"Unsupported {kind} {type(obj).__name__!r}: this instance overrides {method} "
                f"(an attribute set on the object), so its actions may differ from "
                f"{registered.__name__}'s, which the bundle reproduces. {EXTRACTOR_HINT}")
    for cls in type(obj).__mro__:
        if cls is registered:
            return
        for method in ACTION_METHODS:
            if method in vars(cls):
                raise UnsupportedError(
                    f"Unsupported {kind} class {cls.__name__!r}: it overrides {method}, so its "
                    f"actions may differ from {registered.__name__}'s, which the bundle "
                    f"reproduces. Register an extractor for {cls.__name__} itself if its "
                    f"{method} keeps the actions. {EXTRACTOR_HINT}")
