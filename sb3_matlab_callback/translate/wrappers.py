"""Fold a VecEnv's wrappers into the bundle: ``VecFrameStack`` and ``VecNormalize``.

The env is walked from the outside in. ``VecFrameStack`` becomes the bundle's
``frame_stack`` (the MATLAB runtime then takes single frames and carries the stack in
``'State'``), ``VecNormalize`` its observation statistics, applied to each frame before
stacking when it sits inside the stack (the stack then holds normalized frames), or to
the stacked observation when it sits outside. ``VecTransposeImage`` (SB3 adds it for
channel-last images) is the image layout the bundle records already. Wrappers that leave
observations alone pass; any other wrapper is refused, naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import (
    VecCheckNan,
    VecEnv,
    VecEnvWrapper,
    VecFrameStack,
    VecMonitor,
    VecNormalize,
    VecTransposeImage,
    VecVideoRecorder,
)
from stable_baselines3.common.vec_env.stacked_observations import StackedObservations

from ..errors import UnsupportedError

#: Wrappers that never change observations: they may sit anywhere in the env.
_PASS_THROUGH: set[type[VecEnvWrapper]] = {VecMonitor, VecCheckNan, VecVideoRecorder}


def register_passthrough_wrapper(cls: type[VecEnvWrapper]) -> type[VecEnvWrapper]:
    """Declare that the ``VecEnvWrapper`` subclass ``cls`` never changes observations.

    Such a wrapper may then sit anywhere in an exported env (as ``VecMonitor`` does).
    Usable as a class decorator.
    """
    if not (isinstance(cls, type) and issubclass(cls, VecEnvWrapper)):
        raise TypeError(f"register_passthrough_wrapper takes a VecEnvWrapper subclass, got {cls!r}.")
    _PASS_THROUGH.add(cls)
    return cls


@dataclass
class EnvFolding:
    """What an env's wrapper chain adds to a bundle.

    :param frame_stack: the env's ``VecFrameStack``, if any.
    :param vec_normalize: its ``VecNormalize`` that normalizes observations, if any.
    :param normalize_inside: whether that ``VecNormalize`` sits inside the frame stack.
    :param transposed: whether SB3's ``VecTransposeImage`` wraps the env.
    :param frame_space: the observation space of one frame, as the unwrapped env gives it.
    :param env: the env itself (its ``VecTransposeImage`` gives the image layout).
    :param wrappers: the names of its wrappers, from the outside in.
    """

    frame_stack: VecFrameStack | None = None
    vec_normalize: VecNormalize | None = None
    normalize_inside: bool = False
    transposed: VecTransposeImage | None = None
    frame_space: spaces.Space | None = None
    env: VecEnv | None = None
    wrappers: list[str] = field(default_factory=list)


def fold_env(env: VecEnv | None) -> EnvFolding:
    """Walk ``env``'s ``VecEnvWrapper`` chain from the outside in.

    :raises UnsupportedError: for a wrapper that changes observations in a way the bundle
        cannot reproduce, naming it; for two frame stacks, or two ``VecNormalize`` that
        both normalize observations; for a ``VecTransposeImage`` that is not outermost.
    """
    if env is None:
        return EnvFolding()
    if not isinstance(env, VecEnv):
        raise TypeError(f"env must be a VecEnv (the one the model acts in), got {type(env).__name__}.")
    folding = EnvFolding(env=env)
    venv: VecEnv = env
    depth = 0
    while isinstance(venv, VecEnvWrapper):
        folding.wrappers.append(type(venv).__name__)
        _fold_one(folding, venv, depth)
        venv, depth = venv.venv, depth + 1
    if folding.frame_stack is not None:
        folding.frame_space = venv.observation_space
    return folding


def _fold_one(folding: EnvFolding, wrapper: VecEnvWrapper, depth: int) -> None:
    cls = type(wrapper)
    if cls is VecTransposeImage:
        if depth != 0:
            raise _refused(wrapper, "SB3 puts VecTransposeImage outermost; here another wrapper "
                           "wraps it, so frames would be stacked or normalized after transposing. "
                           "Let SB3 add it (pass the env without it to the algorithm)")
        folding.transposed = wrapper
    elif cls is VecFrameStack:
        if folding.frame_stack is not None:
            raise _refused(wrapper, "the env has two VecFrameStack wrappers")
        folding.frame_stack = wrapper
    elif cls is VecNormalize:
        if not wrapper.norm_obs:
            return  # reward normalization only: observations pass unchanged
        if folding.vec_normalize is not None:
            raise _refused(wrapper, "the env has two VecNormalize wrappers that normalize "
                           "observations")
        folding.vec_normalize = wrapper
        folding.normalize_inside = folding.frame_stack is not None
    elif cls not in _PASS_THROUGH:
        raise _refused(wrapper, "it may change observations, and the bundle reproduces only "
                       "VecFrameStack, VecNormalize and SB3's VecTransposeImage. If it leaves "
                       "observations unchanged, declare it with "
                       "sb3_matlab_callback.register_passthrough_wrapper("
                       f"{cls.__name__})")


def _refused(wrapper: VecEnvWrapper, why: str) -> UnsupportedError:
    return UnsupportedError(f"Unsupported VecEnv wrapper {type(wrapper).__name__!r}: {why}.")


# --------------------------------------------------------------------------- bundle field
def stacks_by_key(frame_stack: VecFrameStack) -> dict[str, StackedObservations]:
    """Return the ``StackedObservations`` of each Dict key (``""`` for a plain observation)."""
    stacked = frame_stack.stacked_obs
    if isinstance(frame_stack.observation_space, spaces.Dict):
        return dict(stacked.sub_stacked_observations)
    return {"": stacked}


def channels_order(frame_stack: VecFrameStack) -> str | dict[str, str]:
    """Return the ``channels_order`` that makes a new ``StackedObservations`` stack the same."""
    orders = {key: "first" if sub.channels_first else "last"
              for key, sub in stacks_by_key(frame_stack).items()}
    return orders[""] if "" in orders else orders


def frame_stack_field(folding: EnvFolding, field_name: Callable[[str], str],
                      inner_stats: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Return the bundle's ``frame_stack`` variable (``n_stack = 0`` without a stack).

    :param folding: the env's wrappers.
    :param field_name: maps a Dict key to its MATLAB struct field.
    :param inner_stats: VecNormalize statistics of single frames by key (normalization
        inside the stack), as :func:`~sb3_matlab_callback.bundle.bundle.observation_stats` gives them.
    """
    fs = folding.frame_stack
    if fs is None:
        return {"n_stack": 0.0, "inputs": np.empty((1, 0), dtype=object)}
    items = []
    for key, sub in stacks_by_key(fs).items():
        frame_shape = tuple(int(s) for s in sub.observation_space.shape)
        if not frame_shape:
            raise UnsupportedError(f"Unsupported VecFrameStack of a scalar observation "
                                   f"{sub.observation_space}: give frames of shape (1,).")
        axis = 1 if sub.channels_first else len(frame_shape)  # 1-based, in one frame's shape
        stats = inner_stats.get(key)
        item: dict[str, Any] = {
            "key": key, "field": field_name(key) if key else "",
            "frame_shape": np.array(frame_shape, dtype=np.float64).reshape(1, -1),
            "axis": float(axis), "normalize": float(stats is not None)}
        if stats is not None:
            item.update(epsilon=stats["epsilon"], clip_obs=stats["clip_obs"],
                        mean=np.asarray(stats["mean"], np.float64).reshape((1, *frame_shape)),
                        var=np.asarray(stats["var"], np.float64).reshape((1, *frame_shape)))
        items.append(item)
    cell = np.empty((1, len(items)), dtype=object)
    for index, item in enumerate(items):
        cell[0, index] = item
    return {"n_stack": float(fs.stacked_obs.n_stack), "inputs": cell}


def check_stack_matches(folding: EnvFolding, observation_space: spaces.Space) -> None:
    """Refuse an env whose stacked observations are not what the policy observes."""
    fs = folding.frame_stack
    if fs is None:
        return
    stacked = fs.observation_space
    if folding.transposed is not None:
        stacked = folding.transposed.observation_space
    if _shapes(stacked) != _shapes(observation_space):
        raise UnsupportedError(
            f"The env's VecFrameStack gives observations {stacked}, but the policy observes "
            f"{observation_space}: pass env= the VecEnv this model was trained on.")


def _shapes(space: spaces.Space) -> Any:
    if isinstance(space, spaces.Dict):
        return {key: _shapes(sub) for key, sub in space.spaces.items()}
    return tuple(getattr(space, "shape", None) or ())


# --------------------------------------------------------------------------- reference
@dataclass
class FrameSequence:
    """Single frames of one env, its episode starts, and the policy's observations for them."""

    frames: Any
    starts: np.ndarray
    observations: list[Any]


def stack_sequence(folding: EnvFolding, frames: Any, starts: np.ndarray,
                   vec_normalize: VecNormalize | None) -> FrameSequence:
    """Run frames through SB3's own stacking, as ``VecFrameStack`` does in one env.

    Each frame is normalized first when ``VecNormalize`` sits inside the stack; the
    stack is reset (zeros, the frame last) where ``starts`` is true, as after ``done``;
    a ``VecNormalize`` outside normalizes the stacked observation.

    :param frames: raw frames (a batch, or a dict of batches), one per step.
    :param starts: one bool per step; the first must be true.
    :param vec_normalize: the (frozen) ``VecNormalize`` whose statistics the bundle carries.
    :return: the policy-side observation of each step (batches of one).
    """
    fs = folding.frame_stack
    assert fs is not None
    stack = StackedObservations(1, fs.stacked_obs.n_stack, fs.venv.observation_space,
                                channels_order(fs))
    inside = vec_normalize if folding.normalize_inside else None
    outside = vec_normalize if not folding.normalize_inside else None
    observations = []
    for t, start in enumerate(starts):
        frame = _take(frames, t)
        if inside is not None:
            frame = inside.normalize_obs(frame)
        if t == 0:
            stacked = stack.reset(frame)
        else:
            infos = [{"terminal_observation": _first(frame)}] if start else [{}]
            stacked, _ = stack.update(frame, np.array([bool(start)]), infos)
        stacked = _copy(stacked)
        if outside is not None:
            stacked = outside.normalize_obs(stacked)
        observations.append(stacked)
    return FrameSequence(frames, np.asarray(starts, dtype=bool), observations)


def _take(batch: Any, t: int) -> Any:
    if isinstance(batch, dict):
        return {key: value[t:t + 1] for key, value in batch.items()}
    return batch[t:t + 1]


def _first(batch: Any) -> Any:
    """One env's observation of a batch of one (a ``terminal_observation`` for ``update``)."""
    if isinstance(batch, dict):
        return {key: np.array(value[0], copy=True) for key, value in batch.items()}
    return np.array(batch[0], copy=True)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: np.array(item, copy=True) for key, item in value.items()}
    return np.array(value, copy=True)


def reference_starts(n_stack: int) -> np.ndarray:
    """Episode starts for a reference sequence: two episodes that each fill the stack."""
    length = n_stack + 3
    starts = np.zeros(2 * length, dtype=bool)
    starts[[0, length]] = True
    return starts


def check_frame_space(space: spaces.Space | None) -> None:
    """Refuse frames SB3's stacking cannot take (it stacks Box and Dict-of-Box only)."""
    subspaces = space.spaces.values() if isinstance(space, spaces.Dict) else [space]
    for sub in subspaces:
        if not isinstance(sub, spaces.Box):
            raise UnsupportedError(f"Unsupported frame space {sub} under VecFrameStack: SB3 "
                                   "stacks Box observations (or Dict keys of Box) only.")


def place_vec_normalize(folding: EnvFolding, vec_normalize: VecNormalize | None) -> EnvFolding:
    """Return ``folding`` with ``vec_normalize`` placed inside or outside its frame stack.

    A ``VecNormalize`` passed apart from the env takes the place of the env's own; when
    the env has none, its statistics' shape tells: one frame's shape (inside the stack) or
    the stacked shape (outside).

    :raises UnsupportedError: statistics that fit neither.
    """
    fs = folding.frame_stack
    if fs is None or vec_normalize is None or vec_normalize is folding.vec_normalize:
        return folding
    if folding.vec_normalize is not None:
        inside = folding.normalize_inside
    else:
        stats = _stats_shapes(vec_normalize)
        frames = _shapes(fs.venv.observation_space)
        if stats == frames:
            inside = True
        elif stats == _shapes(fs.observation_space):
            inside = False
        else:
            raise UnsupportedError(
                f"The VecNormalize statistics have shape {stats}: neither one frame's "
                f"{frames} nor the stacked observation's {_shapes(fs.observation_space)} of "
                "the env's VecFrameStack.")
    return EnvFolding(fs, vec_normalize, inside, folding.transposed, folding.frame_space,
                      folding.env, folding.wrappers)


def _stats_shapes(vec_normalize: VecNormalize) -> Any:
    rms = vec_normalize.obs_rms
    if isinstance(rms, dict):
        return {key: tuple(np.shape(stat.mean)) for key, stat in rms.items()}
    return tuple(np.shape(rms.mean))
