"""Bundle format v1: build a bundle from a live model, encode it as MAT v5, read it back.

Building is the *snapshot*: it copies weights and statistics into NumPy arrays and
computes the reference actions, so the model may change right after. Encoding and
writing touch no model state. Field by field, the format is in docs/bundle-format.md.
"""

from __future__ import annotations

import io
import platform
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
import stable_baselines3
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.vec_env import VecNormalize, VecTransposeImage, unwrap_vec_wrapper

from .. import __version__
from ..errors import BundleError, NonFiniteError
from ..translate.builder import Builder
from ..translate.critics import build_critic, critic_field, critic_values
from ..translate.extractors import find_extractor
from ..translate.program import Program
from ..translate.spaces import describe_space, matlab_field_name
from ..translate.wrappers import EnvFolding, check_frame_space, check_stack_matches, frame_stack_field
from .bundle_check import check_bundle, check_mat_variables
from .mat5 import encode_mat5
from .mat5_check import check_mat5
from .reference import sample_observations
from .reference_run import critic_reference, stacked_reference

BUNDLE_FORMAT = "sb3-matlab-bundle"
BUNDLE_FORMAT_VERSION = 1
NUM_REFERENCE = 16
#: Per unit of action magnitude: float32 (torch) against float64 (runtime).
REFERENCE_RTOL = 1e-5
#: MAT v5 stores each variable's size in 32 bits, and MATLAB reads one of more than
#: 2 GiB as corrupt: the most bytes one bundle variable (``ops`` holds every weight) may take.
MAT_V5_MAX_VARIABLE_BYTES = 2**31 - 1
#: Upper bound of what MAT v5 adds per array, struct or cell element (tags, flags,
#: dimensions, name, padding) and per struct field name.
_MAT_ELEMENT_OVERHEAD = 128
_MAT_FIELD_NAME_BYTES = 64
#: Program parameters that may hold +-Inf: bounds (an unbounded action space, clip_obs=inf).
_INF_ALLOWED = frozenset({"low", "high", "clip_obs", "min_val", "max_val"})
#: Where a bundle's VecNormalize statistics came from (``vec_normalize_source``).
VEC_NORMALIZE_SOURCES = ("none", "argument", "model_env", "training_env", "env")


def build_program(model: BaseAlgorithm, vec_normalize: VecNormalize | None = None, *,
                  check_finite: bool = True, critic: bool = False, env: Any = None) -> Program:
    """Translate ``model``'s actor into a program (raises before anything is written).

    :param critic: also translate the value side into ``program.critic`` (see :mod:`.critics`).
    :param env: the VecEnv the model acts in, for its image layout (default ``model.env``).

    :param check_finite: refuse NaN and Inf among the program's constants; ``False`` only
        for callers that look for NaN themselves (finding which tensors a bundle uses).
    :raises UnsupportedError: for anything that cannot be exported.
    :raises NonFiniteError: naming the tensor or statistic that is NaN or infinite.
    :raises BundleError: when the program is too large for MAT v5.
    """
    extractor = find_extractor(model)
    describe_space(model.action_space)  # unsupported action spaces fail here, before anything
    builder = Builder(
        observation_space=model.policy.observation_space,
        normalize_images=getattr(model.policy, "normalize_images", True),
        obs_stats=observation_stats(vec_normalize),
        image_layouts=image_layouts(model, env),
    )
    extractor(model, builder)
    if critic:
        builder.program.critic = build_critic(model, builder)
        if check_finite:
            check_finite_program(Program(ops=builder.program.critic.ops), model)
    if check_finite:
        check_finite_program(builder.program, model)
    check_mat_v5_size(program_fields(builder.program))
    return builder.program


def active_vec_normalize(vec_normalize: VecNormalize | None) -> VecNormalize | None:
    """Return ``vec_normalize`` when it normalizes observations, else ``None``.

    A ``VecNormalize(norm_obs=False)`` (rl-zoo3 normalizes only rewards for some envs)
    has no observation statistics, and reward normalization does not touch actions: the
    policy is exported as if there were no ``VecNormalize``.
    """
    if vec_normalize is None or not getattr(vec_normalize, "norm_obs", False):
        return None
    return vec_normalize


def check_finite_program(program: Program, model: BaseAlgorithm) -> None:
    """Refuse a program with NaN (anywhere) or Inf (except in bounds) among its constants.

    MATLAB's ``max``/``min`` drop NaN where torch propagates it, so such a program could
    turn NaN into plausible actions. The error names the policy tensors that are not finite.

    :raises NonFiniteError: naming the tensors (or, failing that, the op and parameter).
    """
    where = [(f"input {item.key or 'obs'!r}", item.params) for item in program.inputs]
    where += [(f"op {index + 1} ({op.op})", op.params) for index, op in enumerate(program.ops)]
    for place, params in where:
        for name, value in params.items():
            kind = _non_finite_kind(value, allow_inf=name in _INF_ALLOWED)
            if kind:
                raise NonFiniteError(_non_finite_message(model, f"{place} parameter {name!r}", kind))


def _non_finite_message(model: BaseAlgorithm, place: str, kind: str) -> str:
    tensors = non_finite_tensors(model.policy)
    what = ("policy tensor " + ", ".join(f"{name!r} holds {bad}" for name, bad in tensors)
            if tensors else f"{place} holds {kind}")
    return (f"Cannot export {_algorithm_name(model)}: {what}. A diverged or corrupted "
            "model gives NaN actions in SB3; its bundle is never written.")


def non_finite_tensors(policy: th.nn.Module) -> list[tuple[str, str]]:
    """Return ``(name, "NaN" | "Inf" | "NaN and Inf")`` of each non-finite policy tensor."""
    found = []
    named = [*policy.named_parameters(), *policy.named_buffers()]
    with th.no_grad():
        for name, tensor in named:
            if tensor.is_floating_point() and not bool(th.isfinite(tensor).all()):
                nan, inf = bool(th.isnan(tensor).any()), bool(th.isinf(tensor).any())
                found.append((name, " and ".join(k for k, b in (("NaN", nan), ("Inf", inf)) if b)))
    return found


def _non_finite_kind(value: Any, allow_inf: bool = False) -> str:
    """``""`` when ``value`` (nested dicts, lists, arrays) is finite, else what it holds."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return next((k for k in (_non_finite_kind(v, allow_inf) for v in value) if k), "")
    if isinstance(value, float | np.floating) or (isinstance(value, np.ndarray)
                                                   and value.dtype.kind == "f"):
        array = np.asarray(value)
        nan = bool(np.isnan(array).any())
        inf = not allow_inf and bool(np.isinf(array).any())
        return " and ".join(k for k, b in (("NaN", nan), ("Inf", inf)) if b)
    return ""


def check_finite_statistics(vec_normalize: VecNormalize | None) -> None:
    """Refuse ``VecNormalize`` observation statistics that are NaN, infinite or negative.

    :raises NonFiniteError: naming the statistic (and the Dict key).
    """
    for key, stats in observation_stats(vec_normalize).items():
        where = f" (key {key!r})" if key else ""
        for name in ("mean", "var", "epsilon"):
            kind = _non_finite_kind(np.asarray(stats[name], dtype=np.float64))
            if kind:
                raise NonFiniteError(f"Cannot export with this VecNormalize: its statistic "
                                     f"obs_rms.{name}{where} holds {kind}." if name != "epsilon"
                                     else f"Cannot export: VecNormalize epsilon is {kind}.")
        if np.any(stats["var"] < 0):
            raise NonFiniteError(f"Cannot export with this VecNormalize: its statistic "
                                 f"obs_rms.var{where} is negative.")
        if np.isnan(stats["clip_obs"]):
            raise NonFiniteError("Cannot export: VecNormalize clip_obs is NaN.")


def mat_variable_bytes(value: Any) -> int:
    """Return an upper bound of the bytes ``value`` takes as one uncompressed MAT v5 variable."""
    if isinstance(value, dict):
        return _MAT_ELEMENT_OVERHEAD + sum(_MAT_FIELD_NAME_BYTES + mat_variable_bytes(v)
                                           for v in value.values())
    if isinstance(value, list | tuple):
        return _MAT_ELEMENT_OVERHEAD + sum(mat_variable_bytes(v) for v in value)
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return _MAT_ELEMENT_OVERHEAD + sum(mat_variable_bytes(v) for v in value.flat)
        return _MAT_ELEMENT_OVERHEAD + value.size * max(value.dtype.itemsize, 2)
    if isinstance(value, str):
        return _MAT_ELEMENT_OVERHEAD + 4 * len(value)
    return _MAT_ELEMENT_OVERHEAD + 8


def check_mat_v5_size(fields: dict[str, Any]) -> None:
    """Refuse a bundle (or its program fields) with a variable too large for MAT v5.

    :raises BundleError: naming the variable, its size and the limit.
    """
    for name, value in fields.items():
        size = mat_variable_bytes(value)
        if size > MAT_V5_MAX_VARIABLE_BYTES:
            raise BundleError(
                f"The network is too large for a MAT v5 bundle: variable {name!r} needs about "
                f"{size} bytes, and MAT v5 holds at most 2 GiB ({MAT_V5_MAX_VARIABLE_BYTES} "
                "bytes) in one variable (MATLAB reads a larger one as corrupt). Export a "
                "smaller network.")


def image_layouts(model: BaseAlgorithm, env: Any = None) -> dict[str, str]:
    """Return how the model's env gives each image observation (by Dict key, ``""`` if plain).

    SB3 wraps an env with channel-last images in ``VecTransposeImage``, so the policy
    sees ``C x H x W``; such images are ``"HWC"``. Images of an env that was not
    transposed are ``"CHW"``. Without an env (a model loaded without one) every image
    is ``"HWC"``, the usual layout of image envs.
    """
    space = model.policy.observation_space
    keys = list(space.spaces) if isinstance(space, spaces.Dict) else [""]
    env = getattr(model, "env", None) if env is None else env
    if env is None:
        return dict.fromkeys(keys, "HWC")
    transpose = unwrap_vec_wrapper(env, VecTransposeImage)
    if transpose is None or transpose.skip:
        return dict.fromkeys(keys, "CHW")
    if isinstance(space, spaces.Dict):
        return {key: "HWC" if key in transpose.image_space_keys else "CHW" for key in keys}
    return {"": "HWC"}


def env_layout(observations: Any, space: spaces.Space, layouts: dict[str, str]) -> Any:
    """Put image observations (a batch, policy layout ``N x C x H x W``) in the env's layout."""
    if isinstance(space, spaces.Dict):
        return {key: env_layout(obs, space[key], {"": layouts.get(key, "HWC")})
                for key, obs in observations.items()}
    observations = np.asarray(observations)
    if (layouts.get("") == "HWC" and is_image_space(space)
            and observations.shape[1:] == space.shape):
        return observations.transpose(0, 2, 3, 1)
    return observations


def observation_stats(vec_normalize: VecNormalize | None) -> dict[str, dict[str, Any]]:
    """VecNormalize observation statistics by Dict key (``""`` for a plain observation)."""
    if vec_normalize is None or not vec_normalize.norm_obs:
        return {}
    rms = vec_normalize.obs_rms
    items = rms.items() if isinstance(rms, dict) else [("", rms)]
    keys = vec_normalize.norm_obs_keys if isinstance(rms, dict) else [""]
    return {
        key: {
            "mean": np.array(stat.mean, dtype=np.float64).reshape(1, -1),
            "var": np.array(stat.var, dtype=np.float64).reshape(1, -1),
            "epsilon": float(vec_normalize.epsilon),
            "clip_obs": float(vec_normalize.clip_obs),
        }
        for key, stat in items
        if key in keys
    }


def build_bundle(
    model: BaseAlgorithm,
    *,
    vec_normalize: VecNormalize | None = None,
    version: int = 1,
    num_timesteps: int | None = None,
    reference_observations: Any = None,
    seed: int = 0,
    vec_normalize_source: str = "argument",
    env_folding: EnvFolding | None = None,
    critic: bool = False,
) -> dict[str, Any]:
    """Snapshot ``model`` into a bundle: a dict of MATLAB-ready values.

    :param model: any supported SB3 / sb3-contrib algorithm.
    :param vec_normalize: a ``VecNormalize`` whose observation statistics the runtime applies
        (one with ``norm_obs=False`` counts as none).
    :param version: the checkpoint version recorded in the bundle.
    :param num_timesteps: defaults to ``model.num_timesteps``.
    :param reference_observations: raw observations (a batch) to embed; sampled if omitted.
    :param seed: seed for the sampled reference observations.
    :param vec_normalize_source: where ``vec_normalize`` came from, recorded as
        ``vec_normalize_source``: ``"argument"``, ``"model_env"`` or ``"training_env"``
        (``"none"`` is recorded when there are no statistics).
    :param env_folding: the env's wrappers (:func:`~sb3_matlab_callback.translate.wrappers.fold_env`):
        with a ``VecFrameStack``, the bundle takes single frames, and ``vec_normalize``
        applies to each frame when ``env_folding.normalize_inside``.
    :param critic: also export the value side (``sb3.value``, ``sb3.q_value``).
    :return: the bundle, ready for :func:`encode_bundle`.
    :raises NonFiniteError: a weight, statistic, reference observation or reference
        action is NaN or infinite.
    """
    vec_normalize = active_vec_normalize(vec_normalize)
    if vec_normalize_source not in VEC_NORMALIZE_SOURCES[1:]:
        raise ValueError(f"vec_normalize_source must be one of {VEC_NORMALIZE_SOURCES[1:]}, "
                         f"got {vec_normalize_source!r}")
    check_finite_statistics(vec_normalize)
    folding = env_folding or EnvFolding()
    inside = vec_normalize if folding.normalize_inside else None
    program = build_program(model, None if inside else vec_normalize, critic=critic,
                            env=folding.env)
    check_stack_matches(folding, model.policy.observation_space)
    extra: dict[str, Any] = {}
    if reference_observations is not None:  # before SB3 computes anything from them
        _check_finite_reference(reference_observations, "reference observations")
    if folding.frame_stack is not None:
        check_frame_space(folding.frame_space)
        reference_observations, starts, actions, values = stacked_reference(
            model, folding, vec_normalize, reference_observations, seed, program.critic)
        extra["episode_starts"] = starts.astype(np.float64).reshape(-1, 1)
    else:
        if reference_observations is None:
            rng = np.random.default_rng(seed)
            reference_observations = sample_observations(model.observation_space, rng,
                                                         NUM_REFERENCE)
        actions = reference_actions(model, reference_observations, vec_normalize)
        values = None if program.critic is None else critic_values(
            model, program.critic.kind, _normalized(reference_observations, vec_normalize),
            actions)[0]
        reference_observations = env_layout(reference_observations,
                                            model.policy.observation_space,
                                            image_layouts(model, folding.env))
    _check_finite_reference(actions, "the reference actions SB3's predict returned")
    if values is not None:
        _check_finite_reference(values, "the reference values SB3's critic returned")
    extra.update(critic_reference(values))
    scale = max(1.0, float(np.max(np.abs(actions)))) if actions.size else 1.0
    stack = frame_stack_field(folding, matlab_field_name, observation_stats(inside))
    bundle = {
        "format": BUNDLE_FORMAT,
        "format_version": float(BUNDLE_FORMAT_VERSION),
        "algorithm": _algorithm_name(model),
        "policy_class": type(model.policy).__name__,
        "version": float(version),
        "num_timesteps": float(model.num_timesteps if num_timesteps is None else num_timesteps),
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "producer": {
            "package": "sb3-matlab-callback",
            "package_version": __version__,
            "sb3_version": stable_baselines3.__version__,
            "torch_version": th.__version__,
            "python_version": platform.python_version(),
        },
        "observation_space": describe_space(model.observation_space),
        "action_space": describe_space(model.action_space),
        "vec_normalize": float(vec_normalize is not None),
        "vec_normalize_source": vec_normalize_source if vec_normalize is not None else "none",
        **program_fields(program),
        "fingerprint": _fingerprint(program, stack),
        "frame_stack": stack,
        "critic": critic_field(program.critic),
        "reference": {
            "observations": _one_per_row(reference_observations),
            "actions": actions,
            "atol": REFERENCE_RTOL * scale,
            **extra,
        },
    }
    check_mat_v5_size(bundle)
    return bundle


def _check_finite_reference(values: Any, what: str) -> None:
    """Refuse NaN or Inf in reference observations or actions (never written into a bundle)."""
    if isinstance(values, dict):
        for key, value in values.items():
            _check_finite_reference(value, f"{what} (key {key!r})")
        return
    array = np.asarray(values)
    if array.dtype.kind in "fc" and not bool(np.isfinite(array).all()):
        rows = sorted({int(i) for i in np.argwhere(~np.isfinite(array))[:, 0]})
        kind = _non_finite_kind(array.astype(np.float64)) or "NaN"
        raise NonFiniteError(f"Cannot export: {what} hold {kind} (rows {rows[:10]}). A bundle "
                             "whose reference holds NaN would let sb3.verify pass; it is never "
                             "written.")


def _fingerprint(program: Program, frame_stack: dict[str, Any] | None = None) -> str:
    """Return the architecture fingerprint: equal for every version of one run (docs/simulink.md).

    It covers the frame stack (``frame_stack``, the bundle variable) but not its statistics.
    Memoized by :func:`_structure_key`, so the versions of one run compute it once (it is
    about a fifth of building a SAC bundle).
    """
    from ..generate import bundle_fingerprint  # generate reads bundles: imported here, no cycle

    fields = {**program_fields(program), "frame_stack": frame_stack}
    key = _structure_key(fields)
    if key not in _FINGERPRINTS:
        if len(_FINGERPRINTS) >= 16:
            _FINGERPRINTS.clear()
        _FINGERPRINTS[key] = bundle_fingerprint(fields)
    return _FINGERPRINTS[key]


_FINGERPRINTS: dict[Any, str] = {}
#: Program fields holding weights or statistics: the fingerprint sees only their shape and
#: class. Every other value (bounds, nvec, eps, activation constants, ...) is part of the key.
_TENSOR_FIELDS = frozenset({"weight", "bias", "mean", "var", "log_std", "std", "weight_ih",
                            "weight_hh", "bias_ih", "bias_hh"})


def _structure_key(value: Any, name: str = "") -> Any:
    """Return a hashable key of program fields: all but the values of weights and statistics."""
    if isinstance(value, dict):
        return tuple((k, _structure_key(v, k)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return tuple(_structure_key(v, name) for v in value)
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return (value.shape, tuple(_structure_key(v, name) for v in value.flat))
        if name in _TENSOR_FIELDS:
            return (value.shape, value.dtype.str)
        return (value.shape, value.dtype.str, value.tobytes())
    if isinstance(value, str | int | float | bool | np.generic) or value is None:
        return (type(value).__name__, value)
    return (type(value).__name__, repr(value))


def _one_per_row(observations: Any) -> Any:
    """Give 1-D batches (Discrete observations) one row per observation, as MATLAB takes them.

    A Dict batch becomes a struct with one field per key, named by :func:`matlab_field_name`.
    """
    if isinstance(observations, dict):
        return {matlab_field_name(key): _one_per_row(value) for key, value in observations.items()}
    observations = np.asarray(observations)
    return observations.reshape(-1, 1) if observations.ndim == 1 else observations


def _normalized(observations: Any, vec_normalize: VecNormalize | None) -> Any:
    return vec_normalize.normalize_obs(observations) if vec_normalize is not None else observations


def reference_actions(
    model: BaseAlgorithm, observations: Any, vec_normalize: VecNormalize | None,
) -> np.ndarray:
    """SB3's own ``predict(..., deterministic=True)`` on raw ``observations``, as N x k."""
    obs = vec_normalize.normalize_obs(observations) if vec_normalize is not None else observations
    actions, _ = model.predict(obs, deterministic=True)
    actions = np.asarray(actions, dtype=np.float64)
    return actions.reshape(actions.shape[0], -1)


def program_fields(program: Program) -> dict[str, Any]:
    """Return the program as bundle fields: ``inputs``, ``ops``, ``output``, ``num_registers``."""
    inputs = [{"key": i.key, "field": matlab_field_name(i.key) if i.key else "", "kind": i.kind,
               "output": float(i.output), **i.params} for i in program.inputs]
    ops = [{"op": o.op, "inputs": np.array(o.inputs, dtype=np.float64).reshape(1, -1),
            "output": float(o.output), "mode": o.mode, **o.params} for o in program.ops]
    return {
        "inputs": _cell(inputs),
        "ops": _cell(ops),
        "output": float(program.output),
        "num_registers": float(program.num_registers),
        "recurrent": program.state or {"kind": "none"},
    }


def _cell(items: list[dict[str, Any]]) -> np.ndarray:
    cell = np.empty((1, len(items)), dtype=object)
    for index, item in enumerate(items):
        cell[0, index] = item
    return cell


def _algorithm_name(model: BaseAlgorithm) -> str:
    for cls in type(model).__mro__:
        if cls.__module__.startswith(("stable_baselines3", "sb3_contrib")):
            return cls.__name__
    return type(model).__name__


def encode_bundle(bundle: dict[str, Any], *, compress: bool = False) -> bytes:
    """Serialize a bundle as a MAT v5 file image.

    :param bundle: a bundle from :func:`build_bundle`.
    :param compress: zlib-compress each variable. Off by default: float32 weights stored
        as ``single`` take the size float64 ones took compressed, and compressing costs
        about 20 times the rest of the encoding. ``load`` reads both kinds.
    """
    if not compress:  # the bytes savemat writes, without its per-element overhead
        return encode_mat5(_matlab_ready(bundle))
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, _matlab_ready(bundle), format="5", do_compression=True,
                     long_field_names=True, oned_as="row")
    return buffer.getvalue()


def map_leaves(value: Any, fn: Callable[[Any], Any]) -> Any:
    """Apply ``fn`` to every leaf of a bundle value: through dicts (structs) and object arrays (cells)."""
    if isinstance(value, dict):
        return {key: map_leaves(item, fn) for key, item in value.items()}
    if isinstance(value, np.ndarray) and value.dtype == object:
        out = np.empty(value.shape, dtype=object)
        for index, item in np.ndenumerate(value):
            out[index] = map_leaves(item, fn)
        return out
    return fn(value)


def _matlab_ready(value: Any) -> Any:
    """Replace what savemat cannot store (None, bools) with MATLAB values, at every leaf."""
    return map_leaves(value, _matlab_leaf)


def _matlab_leaf(value: Any) -> Any:
    if value is None:
        return np.zeros((0, 0))
    if isinstance(value, bool | np.bool_):
        return float(value)
    return value


def load_bundle(path: str | Path) -> dict[str, Any]:
    """Read a bundle back, checking it as hostile input (see :mod:`.bundle_check`).

    :raises BundleError: naming the file and the problem when it is missing, not a regular
        file, unreadable, not a bundle, of another format version, or corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"Bundle file {str(path)!r} does not exist or is not a regular file.")
    try:
        check_mat5(path)  # scipy trusts the sizes inside a file: a damaged one can crash it
        check_mat_variables(path, scipy.io.whosmat(path))
        data = scipy.io.loadmat(path, simplify_cells=True)
    except BundleError:
        raise
    except Exception as exc:  # scipy raises many types on a damaged file
        raise BundleError(f"Bundle file {str(path)!r} is corrupt or not a MAT file: "
                          f"{type(exc).__name__}: {exc}") from exc
    check_bundle(data, path, BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION)
    return data
