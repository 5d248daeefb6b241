"""``ExperimentRun``: one training run of an experiment, checked before anything starts."""

from __future__ import annotations

import difflib
import pickle
import re
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm

from ..translate.extractors.registry import algorithms_by_name

#: A run's name is its folder under the experiment's root: portable on every file system.
RUN_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
#: Names Windows refuses as file names (with or without an extension).
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                    *(f"LPT{i}" for i in range(1, 10))}
#: ``algorithm_kwargs`` that ``ExperimentRun`` sets itself.
RESERVED_KWARGS = ("env", "policy", "seed")


def resolve_algorithm(algorithm: str | type) -> type[BaseAlgorithm]:
    """Return the algorithm class for a class or a name (``"SAC"``, ``"tqc"``, ...).

    :raises ValueError: an unknown name, with "did you mean" and the known names.
    :raises TypeError: a class that is not an SB3 algorithm.
    """
    if isinstance(algorithm, type):
        if not issubclass(algorithm, BaseAlgorithm):
            raise TypeError(f"algorithm {algorithm.__name__} is not a Stable-Baselines3 algorithm "
                            "(a subclass of BaseAlgorithm).")
        return algorithm
    if not isinstance(algorithm, str):
        raise TypeError(f"algorithm must be an algorithm class or its name, got {algorithm!r}.")
    classes = algorithms_by_name()
    by_lower = {name.lower(): cls for name, cls in classes.items()}
    if algorithm.lower() in by_lower:
        return by_lower[algorithm.lower()]
    message = f"Unknown algorithm {algorithm!r}."
    close = difflib.get_close_matches(algorithm.upper(), [n.upper() for n in classes], n=3, cutoff=0.5)
    if close:
        names = {n.upper(): n for n in classes}
        message += f" Did you mean {' or '.join(repr(names[c]) for c in close)}?"
    message += f" Known algorithms: {', '.join(sorted(classes))}."
    raise ValueError(message)


@dataclass(frozen=True)
class ExperimentRun:
    """One training run of :func:`~sb3_matlab_callback.run_experiment`.

    The run trains ``algorithm(policy, env, seed=seed, **algorithm_kwargs)`` for
    ``total_timesteps`` in its own process, with a
    :class:`~sb3_matlab_callback.MatlabExportCallback` exporting into ``root/name/``. Every
    argument is checked at construction.

    :param name: the run's folder under the experiment's root: letters, digits, ``_``,
        ``.`` and ``-``, starting with a letter or digit, at most 100 characters.
    :param algorithm: an algorithm class or its name (``"SAC"``, ``"TQC"``, case-insensitive).
    :param env: a Gymnasium id or an env factory (a picklable callable that returns an env:
        a module-level function or a ``functools.partial``, not a lambda, for the local
        backend).
    :param total_timesteps: the training budget, passed to ``learn()``.
    :param policy: the policy, as the algorithm takes it.
    :param seed: the seed of the algorithm and of the envs.
    :param algorithm_kwargs: more keyword arguments for the algorithm (not ``env``,
        ``policy`` or ``seed``).
    :param n_envs: parallel envs in the run's ``DummyVecEnv``.
    :param vec_normalize: wrap the envs in ``VecNormalize``: ``True``, or a dict of its
        keyword arguments.
    :param save_freq: the callback's ``save_freq`` (calls, i.e. ``n_envs`` timesteps each).
    :param keep_last: the callback's ``keep_last``.
    """

    name: str
    algorithm: str | type[BaseAlgorithm]
    env: str | Callable[[], Any]
    total_timesteps: int
    _: KW_ONLY
    policy: str | type = "MlpPolicy"
    seed: int = 0
    algorithm_kwargs: dict[str, Any] | None = None
    n_envs: int = 1
    vec_normalize: bool | dict[str, Any] = False
    save_freq: int = 1000
    keep_last: int | None = None

    def __post_init__(self) -> None:
        check_name(self.name)
        resolve_algorithm(self.algorithm)
        if not (isinstance(self.env, str) and self.env) and not callable(self.env):
            raise TypeError(f"Run {self.name!r}: env must be a Gymnasium id or an env factory, "
                            f"got {self.env!r}.")
        for key in ("total_timesteps", "n_envs", "save_freq"):
            _check_positive(self.name, key, getattr(self, key))
        if self.keep_last is not None:
            _check_positive(self.name, "keep_last", self.keep_last)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise TypeError(f"Run {self.name!r}: seed must be an integer, got {self.seed!r}.")
        _check_kwargs(self.name, self.algorithm_kwargs)
        if not isinstance(self.vec_normalize, (bool, dict)):
            raise TypeError(f"Run {self.name!r}: vec_normalize must be True, False or a dict of "
                            f"VecNormalize keyword arguments, got {self.vec_normalize!r}.")

    @property
    def algorithm_class(self) -> type[BaseAlgorithm]:
        """The algorithm class."""
        return resolve_algorithm(self.algorithm)

    @property
    def algorithm_name(self) -> str:
        """The algorithm's class name, e.g. ``"SAC"``."""
        return self.algorithm_class.__name__

    @property
    def env_name(self) -> str:
        """The env's id, or its factory's name."""
        if isinstance(self.env, str):
            return self.env
        return getattr(self.env, "__name__", None) or repr(self.env)


def check_name(name: Any) -> None:
    """Raise ``ValueError`` unless ``name`` is a portable folder name."""
    if not isinstance(name, str) or not RUN_NAME_PATTERN.fullmatch(name) or name.endswith("."):
        raise ValueError(f"Run name {name!r} is not a valid folder name: use letters, digits, '_', "
                         "'.' and '-', start with a letter or digit, do not end with '.', at most "
                         "100 characters.")
    if name.split(".")[0].upper() in WINDOWS_RESERVED:
        raise ValueError(f"Run name {name!r} is reserved on Windows; choose another one.")


def _check_positive(name: str, key: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"Run {name!r}: {key} must be a positive integer, got {value!r}.")


def _check_kwargs(name: str, kwargs: Any) -> None:
    if kwargs is None:
        return
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise TypeError(f"Run {name!r}: algorithm_kwargs must be a dict with string keys, "
                        f"got {kwargs!r}.")
    clash = sorted(set(kwargs) & set(RESERVED_KWARGS))
    if clash:
        raise ValueError(f"Run {name!r}: algorithm_kwargs must not set {', '.join(clash)}; use "
                         "ExperimentRun's own arguments for them.")


def check_runs(runs: Sequence[ExperimentRun], *, picklable: bool) -> list[ExperimentRun]:
    """Check a whole experiment before anything starts.

    :param runs: the runs.
    :param picklable: also check that every run pickles (the local backend sends it to a
        spawned process with ``pickle``).
    :return: the runs as a list.
    :raises ValueError: no runs, two runs with one name (also ignoring case, since some
        file systems do), or a run that does not pickle.
    :raises TypeError: an element that is not an :class:`ExperimentRun`.
    """
    if isinstance(runs, ExperimentRun) or not isinstance(runs, Sequence):
        raise TypeError(f"runs must be a list of ExperimentRun, got {type(runs).__name__}.")
    runs = list(runs)
    if not runs:
        raise ValueError("runs is empty: an experiment needs at least one ExperimentRun.")
    seen: dict[str, str] = {}
    for run in runs:
        if not isinstance(run, ExperimentRun):
            raise TypeError(f"runs must hold ExperimentRun objects, got {run!r}.")
        key = run.name.lower()
        if key in seen:
            raise ValueError(f"Two runs share the folder name {run.name!r}"
                             f"{'' if seen[key] == run.name else ' / ' + repr(seen[key])}: run "
                             "names must be unique (ignoring case).")
        seen[key] = run.name
        if picklable:
            _check_pickle(run)
    return runs


def _check_pickle(run: ExperimentRun) -> None:
    try:
        pickle.dumps(run)
    except Exception as exc:
        raise ValueError(f"Run {run.name!r} cannot be sent to a worker process: {exc}. Use a "
                         "module-level function or functools.partial as env factory (not a lambda "
                         "or a local function), or backend='ray'.") from exc
