"""Snapshots: what the training thread copies so a bundle can be built elsewhere.

Taking a snapshot (training thread) copies the policy tensors the exported bundle
depends on (for SAC the actor, not the critics) and the ``VecNormalize`` observation
statistics of that moment, into buffers allocated up front: a fraction of a
millisecond. Building the bundle from it (worker thread) loads those tensors into a
private *shadow* copy of the policy, translates the shadow and runs SB3's own
``predict`` on it for the reference actions. The shadow holds exactly the snapshot's
tensors, so its actions are the ones the live model gave at the snapshot instant,
while the live model trains on.

Which tensors the bundle depends on is found once, when the shadow is made: each
floating-point tensor in turn is filled with NaN, and it is selected when the NaN
reaches the bundle (program or reference actions).

When a policy cannot be shadowed (``deepcopy`` fails), a snapshot builds the whole
bundle on the training thread instead: slower, same result.
"""

from __future__ import annotations

import collections
import copy
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.utils import safe_mean
from stable_baselines3.common.vec_env import VecNormalize

from ..bundle.bundle import (
    NUM_REFERENCE,
    active_vec_normalize,
    build_bundle,
    build_program,
    program_fields,
    reference_actions,
)
from ..bundle.reference import sample_observations
from ..translate.wrappers import EnvFolding, place_vec_normalize


@dataclass
class Snapshot:
    """The state of one checkpoint, independent of the live model.

    :param version: the checkpoint version.
    :param num_timesteps: ``model.num_timesteps`` at the snapshot.
    :param ep_rew_mean: the logger's ``rollout/ep_rew_mean`` at the snapshot, if any.
    :param trigger: what caused it: ``"save_freq"``, ``"new_best"``, ``"event"`` or
        ``"training_end"``.
    :param tensors: copies of the selected policy tensors.
    :param vec_normalize: a frozen copy of the training env's ``VecNormalize``.
    :param bundle: the finished bundle (direct mode).
    :param shadow: the shadow model to build with (shadow mode).
    :param stall: seconds the training thread spent taking the snapshot.
    """

    version: int
    num_timesteps: int
    ep_rew_mean: float | None
    trigger: str = "save_freq"
    tensors: list[th.Tensor] = field(default_factory=list)
    vec_normalize: VecNormalize | None = None
    bundle: dict[str, Any] | None = None
    shadow: _Shadow | None = None
    stall: float = 0.0
    loaded: bool = False  # the worker no longer needs ``tensors``
    attributes: dict[str, Any] = field(default_factory=dict)


#: Model attributes (not tensors) that a bundle depends on and training changes.
MODEL_ATTRIBUTES = ("exploration_rate",)  # DQN / QR-DQN epsilon, used by 'Deterministic', false


@dataclass
class _Shadow:
    """A private copy of the model; ``tensors`` are its copies of the live tensors ``names``."""

    model: BaseAlgorithm
    names: list[tuple[str, str]]  # ("parameter" or "buffer", dotted name)
    tensors: list[th.Tensor]

    def pick(self, policy: th.nn.Module) -> list[th.Tensor] | None:
        """Return the live tensors to copy, or ``None`` when the policy's layout changed."""
        try:
            picked = [policy.get_parameter(name) if kind == "parameter" else policy.get_buffer(name)
                      for kind, name in self.names]
        except AttributeError:
            return None
        return picked if _same_layout(picked, self.tensors) else None


class _BufferPool:
    """Reusable tensor sets for snapshots, allocated (and touched) up front.

    Copying into warm memory takes a fraction of a millisecond; cloning into fresh memory
    can cost tens of milliseconds in page faults, on the training thread.
    """

    def __init__(self, like: list[th.Tensor], size: int) -> None:
        with th.no_grad():
            self._free = collections.deque([t.detach().clone() for t in like]
                                            for _ in range(size))
        self._lock = threading.Lock()

    def copy(self, tensors: list[th.Tensor]) -> list[th.Tensor]:
        """Return a copy of ``tensors`` in a free buffer set (a new one if none is free)."""
        with self._lock:
            buffers = self._free.popleft() if self._free else None
        with th.no_grad():
            if buffers is None or not _same_layout(buffers, tensors):
                return [t.detach().clone() for t in tensors]
            for buffer, tensor in zip(buffers, tensors, strict=True):
                copy_tensor(buffer, tensor)
        return buffers

    def release(self, buffers: list[th.Tensor]) -> None:
        """Give a buffer set back once its content was loaded."""
        if buffers:
            with self._lock:
                self._free.append(buffers)


class Snapshotter:
    """Takes snapshots of ``model`` and turns them into bundles.

    :param model: the live model.
    :param buffers: how many snapshot buffer sets to allocate up front (the most
        snapshots alive at once: those waiting, the one being built and the last one).
    :param env_folding: the training env's wrappers (frame stack, ``VecNormalize``); its
        ``VecNormalize`` statistics are copied at each snapshot. ``None``: the model's
        ``get_vec_normalize_env()``, no frame stack.
    :param critic: each bundle also carries the critics (``critic=True``).
    """

    def __init__(self, model: BaseAlgorithm, buffers: int = 4, *,
                 env_folding: EnvFolding | None = None, critic: bool = False) -> None:
        self.model = model
        self.env_folding = env_folding  # the training env's frame stack and VecNormalize
        self.critic = critic
        self._policy = model.policy
        self._shadow = make_shadow(model, everything=critic)
        self._buffers = buffers
        self._pool = self._new_pool()
        self._lock = threading.Lock()
        self.last: Snapshot | None = None

    def _new_pool(self) -> _BufferPool:
        picked = self._shadow.pick(self.model.policy) if self._shadow is not None else None
        return _BufferPool(_tensors(self.model.policy) if picked is None else picked,
                           self._buffers)

    @property
    def mode(self) -> str:
        """``"shadow"`` (bundles built off the training thread) or ``"direct"``."""
        return "shadow" if self._shadow is not None else "direct"

    def take(self, version: int, trigger: str = "save_freq") -> Snapshot:
        """Copy what the bundle needs (call on the training thread).

        :param version: the checkpoint version.
        :param trigger: what caused the export, recorded in the manifest.
        """
        start = time.perf_counter()
        model = self.model
        venv = freeze_vec_normalize(self.env_folding.vec_normalize if self.env_folding is not None
                                    else model.get_vec_normalize_env())
        snap = Snapshot(version, int(model.num_timesteps), episode_reward_mean(model), trigger,
                        vec_normalize=venv,
                        attributes={name: getattr(model, name) for name in MODEL_ATTRIBUTES
                                    if hasattr(model, name)})
        if self._shadow is not None and model.policy is not self._policy:  # policy replaced
            self._policy, self._shadow = model.policy, make_shadow(model, everything=self.critic)
            self._pool = self._new_pool()
        picked = self._shadow.pick(model.policy) if self._shadow is not None else None
        snap.tensors = self._pool.copy(_tensors(model.policy) if picked is None else picked)
        if picked is not None:
            snap.shadow = self._shadow
        else:
            snap.bundle = build_bundle(model, vec_normalize=venv, version=version,
                                       num_timesteps=snap.num_timesteps,
                                       vec_normalize_source="training_env",
                                       **self._options(venv))
            snap.loaded = True
        with self._lock:
            previous, self.last = self.last, snap
            if previous is not None and previous.loaded:
                self._release(previous)
        snap.stall = time.perf_counter() - start
        return snap

    def unchanged(self) -> bool:
        """Whether the last snapshot already holds the model as it is now.

        Same ``num_timesteps`` is not enough: SB3 updates the weights after the step
        callbacks (PPO after each rollout, SAC after each ``train_freq``), so the model
        ``learn()`` returns may differ from the last step's. The tensors must be equal
        too. (``VecNormalize`` statistics only move with env steps.)
        """
        last = self.last
        if last is None or last.num_timesteps != self.model.num_timesteps:
            return False
        policy = self.model.policy
        current = last.shadow.pick(policy) if last.shadow is not None else _tensors(policy)
        return current is not None and _same_layout(current, last.tensors) and all(
            th.equal(a, b) for a, b in zip(current, last.tensors, strict=True))

    def discard(self, snap: Snapshot) -> None:
        """Give up a snapshot that will never be built (replaced by a newer one)."""
        with self._lock:
            if snap is not self.last:
                self._release(snap)

    def build(self, snap: Snapshot) -> dict[str, Any]:
        """Build the bundle of ``snap`` (call on the worker thread, one at a time)."""
        if snap.bundle is not None:
            return snap.bundle
        assert snap.shadow is not None
        with th.no_grad():
            for target, value in zip(snap.shadow.tensors, snap.tensors, strict=True):
                copy_tensor(target, value)
        for name, value in snap.attributes.items():
            setattr(snap.shadow.model, name, value)
        with self._lock:
            snap.loaded = True
            if snap is not self.last:  # the last one stays for unchanged()
                self._release(snap)
        return build_bundle(snap.shadow.model, vec_normalize=snap.vec_normalize,
                            **self._options(snap.vec_normalize),
                            version=snap.version, num_timesteps=snap.num_timesteps,
                            vec_normalize_source="training_env")

    def _options(self, venv: VecNormalize | None) -> dict[str, Any]:
        """``build_bundle``'s frame stack and critic options, with this snapshot's statistics."""
        folding = (None if self.env_folding is None
                   else place_vec_normalize(self.env_folding, venv))
        return {"env_folding": folding, "critic": self.critic}

    def _release(self, snap: Snapshot) -> None:
        self._pool.release(snap.tensors)
        snap.tensors = []


def make_shadow(model: BaseAlgorithm, everything: bool = False) -> _Shadow | None:
    """Make a private copy of ``model`` whose policy is a deep copy.

    Optimizers and the per-call state of action distributions (tensors of the last
    forward pass, which cannot be deep-copied mid-training) are left out.

    :param everything: copy every policy tensor at each snapshot (``critic=True``: the
        bundle depends on the critics too), instead of finding the ones the actor uses.
    :return: ``None`` when the policy cannot be copied.
    """
    try:
        memo: dict[int, Any] = {id(obj): None for obj in _transient(model.policy)}
        policy = copy.deepcopy(model.policy, memo)
        policy.set_training_mode(False)
        shadow = copy.copy(model)
        shadow.policy = policy
        if hasattr(shadow, "_create_aliases"):
            shadow._create_aliases()  # SAC's actor, TD3's actor, DQN's q_net, ...
    except Exception:
        return None
    names = _tensor_names(policy)
    tensors = _tensors(policy)
    if names != _tensor_names(model.policy) or not _same_layout(_tensors(model.policy), tensors):
        return None
    # critic=True: every tensor (the critics' too) is copied for each snapshot
    selected = list(range(len(tensors))) if everything else program_tensors(shadow, tensors)
    return _Shadow(shadow, [names[i] for i in selected], [tensors[i] for i in selected])


def program_tensors(model: BaseAlgorithm, tensors: list[th.Tensor]) -> list[int]:
    """Return the indices of the ``tensors`` of ``model``'s policy its bundle depends on.

    Each floating-point tensor is filled with NaN in turn (then restored); it is
    selected when a NaN reaches the bundle: the program's parameters, its recurrent
    state spec or the reference actions. Other tensors are always selected.
    """
    selected = []
    observations = sample_observations(model.observation_space, np.random.default_rng(0),
                                       NUM_REFERENCE)
    with th.no_grad():
        for index, tensor in enumerate(tensors):
            if not tensor.is_floating_point() or tensor.numel() == 0:
                selected.append(index)
                continue
            saved = tensor.clone()
            tensor.fill_(float("nan"))
            try:
                poisoned = _reaches_bundle_as_nan(model, observations)
            except Exception:
                poisoned = True
            finally:
                tensor.copy_(saved)
            if poisoned:
                selected.append(index)
    return selected or list(range(len(tensors)))


def _reaches_bundle_as_nan(model: BaseAlgorithm, observations: Any) -> bool:
    """Whether a NaN is in ``model``'s program, its state spec or its reference actions.

    The program is built without its finiteness check, whose error message scans every
    policy tensor: a poisoned tensor is expected here, and each check would cost the
    training start milliseconds.
    """
    program = build_program(model, check_finite=False)
    if _has_nan(program_fields(program)):
        return True
    return _has_nan(reference_actions(model, observations, None))


def _has_nan(value: Any) -> bool:
    """Whether a NaN is anywhere in a bundle (nested dicts, lists and arrays)."""
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nan(v) for v in value)
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return any(_has_nan(v) for v in value.flat)
        return value.dtype.kind in "fc" and bool(np.isnan(value).any())
    if isinstance(value, th.Tensor):
        return value.is_floating_point() and bool(th.isnan(value).any())
    return isinstance(value, float) and value != value


def _transient(policy: th.nn.Module) -> list[Any]:
    """List what a shadow policy does without: optimizers, last-call distribution state."""
    found = []
    for module in policy.modules():
        for value in vars(module).values():
            if isinstance(value, th.optim.Optimizer) or _is_non_leaf(value):
                found.append(value)
            elif isinstance(value, Distribution):
                found += [v for v in vars(value).values()
                          if isinstance(v, th.distributions.Distribution) or _is_non_leaf(v)]
    return found


def _is_non_leaf(value: Any) -> bool:
    return isinstance(value, th.Tensor) and not value.is_leaf


def _tensors(policy: th.nn.Module) -> list[th.Tensor]:
    return [*policy.parameters(), *policy.buffers()]


def _tensor_names(policy: th.nn.Module) -> list[tuple[str, str]]:
    """Names of :func:`_tensors`, in the same order."""
    return ([("parameter", name) for name, _ in policy.named_parameters()]
            + [("buffer", name) for name, _ in policy.named_buffers()])


def copy_tensor(target: th.Tensor, source: th.Tensor) -> None:
    """Copy ``source`` into ``target`` (same shape and dtype) without torch's thread pool.

    On CPU, a plain memory copy: ``Tensor.copy_`` may wake torch's intra-op threads, and
    when the other cores are busy the training thread then waits for them to be scheduled.
    """
    if target.device.type == "cpu" and source.device.type == "cpu":
        try:
            np.copyto(target.detach().cpu().numpy(), source.detach().cpu().numpy())  # no copies
            return
        except (TypeError, RuntimeError):  # a dtype NumPy lacks (bfloat16)
            pass
    target.copy_(source)


def _same_layout(a: list[th.Tensor], b: list[th.Tensor]) -> bool:
    return len(a) == len(b) and all(
        x.shape == y.shape and x.dtype == y.dtype for x, y in zip(a, b, strict=True))


def freeze_vec_normalize(venv: VecNormalize | None) -> VecNormalize | None:
    """Return a detached copy of ``venv`` with this moment's observation statistics.

    The copy has no wrapped env; it only normalizes observations. A ``VecNormalize``
    with ``norm_obs=False`` has no observation statistics: ``None``.
    """
    venv = active_vec_normalize(venv)
    if venv is None:
        return None
    frozen = copy.copy(venv)  # VecNormalize.__getstate__ drops the wrapped env
    frozen.obs_rms = copy.deepcopy(venv.obs_rms)
    return frozen


def episode_reward_mean(model: BaseAlgorithm) -> float | None:
    """Return the mean episode return SB3's logger reports as ``rollout/ep_rew_mean``, if any."""
    buffer = getattr(model, "ep_info_buffer", None)
    if not buffer:
        return None
    return float(safe_mean([info["r"] for info in buffer]))
