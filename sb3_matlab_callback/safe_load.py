"""Load model files saved by SB3 without running code from them.

SB3's ``BaseAlgorithm.load`` unpickles the cloudpickle payloads in a ``.zip``'s ``data``
entry, and ``VecNormalize.load`` unpickles a whole ``.pkl``: a crafted file runs any code
it likes there. This module reads the same files with nothing callable but an explicit
list of data constructors:

- the ``data`` entry is JSON; only the serialized entries that rebuilding the policy
  needs (:data:`NEEDED_ENTRIES`) are unpickled, through :class:`RestrictedUnpickler`; the
  rest (``lr_schedule``, ``replay_buffer_class``, ``train_freq``, ...) never are;
- ``policy.pth`` goes through ``torch.load(weights_only=True)``; optimizer states and the
  other ``.pth`` entries are not read at all;
- a VecNormalize ``.pkl`` goes through the same unpickler, and only the observation
  statistics, ``epsilon``, ``clip_obs``, ``norm_obs`` and ``norm_obs_keys`` are kept.

Anything outside the list raises :class:`UnsafePickleError`, which names the entry and
the class or function, and says how to load a file you trust (``trust_pickle=True``,
``--trust-pickle``), which falls back to SB3's own loaders.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import inspect
import io
import json
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from .errors import ExportError

#: Serialized ``data`` entries that rebuilding the policy needs; no other is unpickled.
NEEDED_ENTRIES = ("policy_class", "observation_space", "action_space", "policy_kwargs")
#: Largest ``data`` entry and ``.pkl`` we read (uncompressed bytes).
MAX_DATA_BYTES = 64 * 1024 * 1024
#: Largest ``policy.pth`` we read (uncompressed bytes).
MAX_WEIGHTS_BYTES = 8 * 1024**3
TRUST_HINT = ("If you trust this file, load it with trust_pickle=True (command line: "
              "--trust-pickle), which uses SB3's own unpickling and runs whatever the file holds.")

#: Plain data constructors, by module: builtins and NumPy's array and dtype rebuilders.
ALLOWED_NAMES: dict[str, frozenset[str]] = {
    "builtins": frozenset({"dict", "list", "tuple", "set", "frozenset", "int", "float", "bool",
                           "complex", "str", "bytes", "bytearray", "slice", "range"}),
    "collections": frozenset({"OrderedDict"}),
    "numpy": frozenset({"dtype", "ndarray"}),
    "numpy.core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy._core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy.core.numeric": frozenset({"_frombuffer"}),
    "numpy._core.numeric": frozenset({"_frombuffer"}),
    "numpy.random._pickle": frozenset({"__generator_ctor", "__bit_generator_ctor",
                                       "__randomstate_ctor"}),
    "numpy.random._pcg64": frozenset({"PCG64", "PCG64DXSM"}),
    "numpy.random._mt19937": frozenset({"MT19937"}),
    "numpy.random._generator": frozenset({"Generator"}),
    "numpy.random.bit_generator": frozenset({"SeedSequence", "__pyx_unpickle_SeedSequence"}),
}


def _class_families() -> tuple[tuple[tuple[str, ...], tuple[type, ...]], ...]:
    """Return the module prefixes whose classes (classes only) are admitted, with their bases."""
    from stable_baselines3.common.distributions import Distribution
    from stable_baselines3.common.policies import BasePolicy
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    return (
        (("gymnasium.spaces",), (gym.spaces.Space,)),
        (("torch.nn",), (th.nn.Module,)),
        (("torch.optim",), (th.optim.Optimizer,)),
        (("stable_baselines3.", "sb3_contrib."),
         (BasePolicy, BaseFeaturesExtractor, Distribution, th.nn.Module)),
    )


class UnsafePickleError(ExportError, pickle.UnpicklingError):
    """A serialized entry names a class or function outside the list of safe constructors."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only plain data constructors and known model classes.

    :param data: the pickle bytes.
    :param entry: what is being read, for error messages (e.g. ``"data['policy_kwargs']"``).
    :param replace: ``(module, name)`` pairs resolved to the given stand-ins instead.
    """

    def __init__(self, data: bytes, entry: str,
                 replace: dict[tuple[str, str], Any] | None = None) -> None:
        super().__init__(io.BytesIO(data))
        self.entry = entry
        self.replace = replace or {}

    def find_class(self, module: str, name: str) -> Any:
        """Return the admitted object for ``module.name``; refuse anything else."""
        if (module, name) in self.replace:
            return self.replace[(module, name)]
        if name in ALLOWED_NAMES.get(module, ()):
            return getattr(importlib.import_module(module), name)
        for prefixes, bases in _class_families():
            if (module + ".").startswith(tuple(p if p.endswith(".") else p + "." for p in prefixes)):
                found = _import_attribute(module, name)
                if isinstance(found, type) and issubclass(found, bases):
                    return found
        raise self.refuse(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        """Refuse persistent ids: no entry we read uses them."""
        raise self.refuse(f"persistent id {pid!r}")

    def refuse(self, what: str) -> UnsafePickleError:
        """Build the error for a refused ``what``."""
        return UnsafePickleError(
            f"Refused to unpickle {what} in {self.entry}: it is not a Gymnasium space, NumPy "
            f"array or dtype, torch.nn module, SB3 policy, features extractor or distribution "
            f"class, or a builtin container, so loading it could run code. {TRUST_HINT}")


def _import_attribute(module: str, name: str) -> Any:
    """``module.name`` (``name`` may be dotted), or ``None`` when it does not exist."""
    try:
        found: Any = importlib.import_module(module)
        for part in name.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    return found


def restricted_loads(data: bytes, entry: str,
                     replace: dict[tuple[str, str], Any] | None = None) -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`.

    :param data: the pickle bytes.
    :param entry: what is being read, for error messages.
    :param replace: stand-ins for some ``(module, name)`` pairs.
    :raises UnsafePickleError: for anything outside the list.
    :raises ExportError: for a payload that is not a valid pickle.
    """
    try:
        return RestrictedUnpickler(data, entry, replace).load()
    except UnsafePickleError:
        raise
    except Exception as exc:
        raise ExportError(f"Cannot read {entry}: not a valid pickle ({type(exc).__name__}: "
                          f"{exc}).") from exc


def _read_entry(archive: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes:
    """Read one zip entry, refusing it when it unpacks to more than ``limit`` bytes."""
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise ExportError(f"{str(path)!r}: entry {name!r} unpacks to {info.file_size} bytes, "
                          f"more than the {limit} this loader reads.")
    with archive.open(info) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ExportError(f"{str(path)!r}: entry {name!r} is larger than {limit} bytes.")
    return data


def read_model_zip(path: str | Path) -> tuple[dict[str, Any], dict[str, th.Tensor]]:
    """Read a ``model.save()`` zip safely: the ``data`` entries needed, and ``policy.pth``.

    :param path: the ``.zip``.
    :return: ``(data, policy_state_dict)``; entries not needed are left out of ``data``.
    :raises UnsafePickleError: when a needed entry holds anything outside the list.
    :raises ExportError: for a missing, corrupt or incomplete file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Model file {str(path)!r} does not exist or is not a file.")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            for needed in ("data", "policy.pth"):
                if needed not in names:
                    raise ExportError(f"{str(path)!r} is not a model saved by SB3's model.save(): "
                                      f"it has no {needed!r} entry.")
            raw = _read_entry(archive, "data", MAX_DATA_BYTES, path)
            weights = _read_entry(archive, "policy.pth", MAX_WEIGHTS_BYTES, path)
    except zipfile.BadZipFile as exc:
        raise ExportError(f"{str(path)!r} is not a zip file (a model saved by model.save()).") from exc
    return _decode_data(raw, path), _load_weights(weights, path)


def _decode_data(raw: bytes, path: Path) -> dict[str, Any]:
    """Decode the ``data`` JSON; unpickle only :data:`NEEDED_ENTRIES`."""
    try:
        decoded = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ExportError(f"{str(path)!r}: its 'data' entry is not valid JSON ({exc}).") from exc
    if not isinstance(decoded, dict):
        raise ExportError(f"{str(path)!r}: its 'data' entry is not a JSON object.")
    data: dict[str, Any] = {}
    for key, value in decoded.items():
        serialized = isinstance(value, dict) and ":serialized:" in value
        if not serialized:
            data[key] = value
        elif key in NEEDED_ENTRIES:
            data[key] = restricted_loads(_b64(value[":serialized:"], key, path),
                                         f"{str(path)!r}, data[{key!r}]")
    missing = [key for key in NEEDED_ENTRIES[:3] if key not in data]
    if missing:
        raise ExportError(f"{str(path)!r}: its 'data' entry lacks {', '.join(missing)}.")
    return data


def _b64(text: Any, key: str, path: Path) -> bytes:
    try:
        return base64.b64decode(str(text).encode(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ExportError(f"{str(path)!r}: data[{key!r}] is not valid base64.") from exc


def _load_weights(data: bytes, path: Path) -> dict[str, th.Tensor]:
    """``policy.pth`` through torch's weights-only unpickler."""
    try:
        state = th.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UnsafePickleError(f"Refused {str(path)!r}, entry 'policy.pth': torch's weights-only "
                                f"loader rejected it ({exc}). {TRUST_HINT}") from exc
    if not isinstance(state, dict) or not all(isinstance(v, th.Tensor) for v in state.values()):
        raise ExportError(f"{str(path)!r}: 'policy.pth' is not a state dict of tensors.")
    return state


def _inference_data(data: dict[str, Any]) -> dict[str, Any]:
    """Prepare ``data`` as SB3's ``load`` does, with training-only buffers shrunk to one step.

    Entries that were not unpickled keep the algorithm's defaults; the replay or rollout
    buffer that ``_setup_model`` allocates holds a single transition, since inference
    never reads it.
    """
    data = dict(data)
    kwargs = dict(data.get("policy_kwargs") or {})
    kwargs.pop("device", None)
    net_arch = kwargs.get("net_arch")
    if net_arch and isinstance(net_arch, list) and isinstance(net_arch[0], dict):
        kwargs["net_arch"] = net_arch[0]  # SB3 < 1.8 format, converted as SB3's load does
    data["policy_kwargs"] = kwargs
    if "buffer_size" in data:  # off-policy
        data.update(buffer_size=1, optimize_memory_usage=False, replay_buffer_kwargs={})
    if "rollout_buffer_kwargs" in data:  # on-policy
        data.update(n_steps=1, rollout_buffer_kwargs={})
    if "ent_coef" in data and not isinstance(data.get("target_entropy"), (int, float)):
        data["target_entropy"] = 0.0  # TQC pickles a NumPy float; "auto" would need an env
    return data


def load_model_safely(path: str | Path, algorithm: type[BaseAlgorithm] | None = None) -> BaseAlgorithm:
    """Rebuild a model saved with ``model.save()`` without running code from the file.

    :param path: the ``.zip``.
    :param algorithm: the algorithm class; inferred from the saved policy class when ``None``.
    :return: the model on the CPU, with its policy weights; no env, no replay buffer.
    """
    data, state = read_model_zip(path)
    cls = algorithm or infer_algorithm(data["policy_class"], path, data)
    model = cls(policy=data["policy_class"], env=None, device="cpu", _init_setup_model=False)
    model.__dict__.update(_inference_data(data))
    try:
        model._setup_model()
        model.policy.load_state_dict(state)
    except (RuntimeError, TypeError, ValueError, KeyError, AssertionError) as exc:
        raise ExportError(f"{str(path)!r}: cannot rebuild a {cls.__name__} from its data and "
                          f"policy.pth ({type(exc).__name__}: {exc}).") from exc
    model.policy.set_training_mode(False)
    if getattr(model, "use_sde", False):
        model.policy.reset_noise()
    return model


def infer_algorithm(policy_class: type, path: str | Path,
                    data: dict[str, Any] | None = None) -> type[BaseAlgorithm]:
    """Return the one algorithm whose ``policy_aliases`` hold ``policy_class``.

    Where several share the policy class (A2C, PPO and TRPO), the saved hyperparameters
    decide when only one algorithm's constructor takes them all (``n_epochs``: PPO).

    :raises ExportError: when none or several fit (then pass the algorithm explicitly).
    """
    matches = sorted({cls for cls in loadable_algorithms().values()
                      if policy_class in getattr(cls, "policy_aliases", {}).values()},
                     key=lambda cls: cls.__name__)
    if len(matches) > 1 and data is not None:
        matches = _fitting(matches, data) or matches
    if len(matches) != 1:
        names = ", ".join(cls.__name__ for cls in matches) or "none"
        raise ExportError(f"Cannot infer the algorithm of {str(path)!r} from its policy class "
                          f"{policy_class.__name__} (candidates: {names}); name it with "
                          f"algorithm=... (command line: --algo).")
    return matches[0]


def _fitting(classes: list[type], data: dict[str, Any]) -> list[type]:
    """Keep the classes whose constructors take every saved key specific to one of them.

    Keys that the common base class takes (``ent_coef`` of ``OnPolicyAlgorithm``) are
    stored by every candidate and say nothing.
    """
    base = next(b for b in classes[0].__mro__ if all(issubclass(c, b) for c in classes))
    common = set(inspect.signature(base.__init__).parameters)
    params = {cls: set(inspect.signature(cls.__init__).parameters) - common for cls in classes}
    keys = set(data) & set().union(*params.values())
    return [cls for cls in classes if keys <= params[cls]]


class _Stats:
    """Stand-in for pickled VecNormalize and RunningMeanStd objects: keeps the state only."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.state = state


def read_vec_normalize(path: str | Path) -> dict[str, Any]:
    """Read a ``VecNormalize.save()`` pickle safely; keep only what inference needs.

    :return: ``norm_obs``, ``norm_obs_keys``, ``clip_obs``, ``epsilon`` and ``obs_rms``
        (a ``RunningMeanStd``, or a dict of them for Dict observations).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"VecNormalize file {str(path)!r} does not exist or is not a file.")
    if path.stat().st_size > MAX_DATA_BYTES:
        raise ExportError(f"{str(path)!r} is larger than {MAX_DATA_BYTES} bytes.")
    module = "stable_baselines3.common"
    stand_ins = {(f"{module}.vec_env.vec_normalize", "VecNormalize"): _Stats,
                 (f"{module}.running_mean_std", "RunningMeanStd"): _Stats}
    loaded = restricted_loads(path.read_bytes(), f"{str(path)!r}", replace=stand_ins)
    state = getattr(loaded, "state", None)
    if not isinstance(state, dict) or "obs_rms" not in state:
        raise ExportError(f"{str(path)!r} is not a VecNormalize saved with VecNormalize.save().")
    return {key: state.get(key) for key in ("norm_obs", "norm_obs_keys", "clip_obs", "epsilon",
                                            "obs_rms", "observation_space")}


def vec_normalize_from_stats(stats: dict[str, Any], observation_space: gym.Space,
                             action_space: gym.Space, path: str | Path) -> VecNormalize:
    """Build an inference-only ``VecNormalize`` around the model's spaces from ``stats``."""
    from stable_baselines3.common.running_mean_std import RunningMeanStd

    venv = VecNormalize(DummyVecEnv([_spaces_env(observation_space, action_space)]),
                        training=False, norm_obs=bool(stats.get("norm_obs", True)),
                        norm_reward=False, clip_obs=float(stats.get("clip_obs") or 10.0),
                        epsilon=float(stats.get("epsilon") or 1e-8),
                        norm_obs_keys=stats.get("norm_obs_keys"))

    def rms(saved: Any, name: str) -> RunningMeanStd:
        state = getattr(saved, "state", None)
        if not isinstance(state, dict) or not {"mean", "var"} <= set(state):
            raise ExportError(f"{str(path)!r}: obs_rms{name} has no mean and var.")
        out = RunningMeanStd(shape=np.shape(state["mean"]))
        out.mean = np.asarray(state["mean"], dtype=np.float64)
        out.var = np.asarray(state["var"], dtype=np.float64)
        out.count = float(state.get("count", 1.0))
        return out

    saved = stats["obs_rms"]
    if isinstance(saved, dict):
        venv.obs_rms = {key: rms(value, f"[{key!r}]") for key, value in saved.items()}
    elif venv.norm_obs:
        venv.obs_rms = rms(saved, "")
    return venv


def _spaces_env(observation_space: gym.Space, action_space: gym.Space) -> Callable[[], gym.Env]:
    return lambda: SpacesEnv(observation_space, action_space)


class SpacesEnv(gym.Env):
    """Carries a model's spaces, so that a ``VecNormalize`` has an env to wrap."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space) -> None:
        self.observation_space = observation_space
        self.action_space = action_space

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        """Return a sample observation (never used for inference)."""
        return self.observation_space.sample(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        """Return a sample transition (never used for inference)."""
        return self.observation_space.sample(), 0.0, False, False, {}


def loadable_algorithms() -> dict[str, type[BaseAlgorithm]]:
    """Return algorithm classes by name: the registered ones and their SB3 / sb3-contrib subclasses."""
    from .translate.extractors.registry import algorithms_by_name

    return algorithms_by_name()


__all__ = [
    "NEEDED_ENTRIES",
    "RestrictedUnpickler",
    "UnsafePickleError",
    "infer_algorithm",
    "load_model_safely",
    "loadable_algorithms",
    "read_model_zip",
    "read_vec_normalize",
    "restricted_loads",
    "vec_normalize_from_stats",
]
