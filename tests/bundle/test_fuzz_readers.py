"""Property-based fuzzing of the Python readers: ``read_manifest`` and ``load_bundle``.

Hypothesis mutates real manifests and bundles (fields, types, sizes, nesting, truncation,
huge and negative numbers, duplicate versions). Every case either reads back or raises our
own error type (``ManifestError``, ``BundleError``): never another exception, never a hang,
and the readers write nothing.
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stable_baselines3 import SAC

from sb3_matlab_callback import BundleError, ManifestError, export_policy, load_bundle, read_manifest
from sb3_matlab_callback.deliver.manifest import MAX_MANIFEST_DEPTH

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

VALID_MANIFEST: dict[str, Any] = {
    "format": "sb3-matlab-manifest",
    "format_version": 1,
    "algorithm": "SAC",
    "run_id": "0123456789abcdef",
    "checkpoints": [
        {"version": v, "file": f"policy_v{v:06d}.mat", "num_timesteps": 100 * v,
         "sha256": "a" * 64, "bytes": 1000, "created": "2026-01-01T00:00:00Z"}
        for v in (1, 2, 3)
    ],
    "latest": 3,
}

JSON_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
                | st.floats(allow_nan=False) | st.text(max_size=20)
                | st.sampled_from(["../outside.mat", "/etc/passwd", "C:x.mat", "a\\b.mat", "", ".",
                                   "..", "sub/x.mat", "x\x00.mat"]))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
PATHS = st.sampled_from([("format",), ("format_version",), ("algorithm",), ("checkpoints",),
                         ("latest",), ("run_id",), ("checkpoints", 0), ("checkpoints", 1, "version"),
                         ("checkpoints", 2, "file"), ("checkpoints", 0, "num_timesteps"),
                         ("checkpoints", 1, "sha256"), ("checkpoints", 2, "bytes"),
                         ("checkpoints", 0, "created"), ("next_version",)])


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        document = document[key]
    document[path[-1]] = value


def _read_manifest_text(text: str | bytes) -> Any:
    with tempfile.TemporaryDirectory() as folder:
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        (Path(folder) / "manifest.json").write_bytes(data)
        before = sorted(Path(folder).iterdir())
        try:
            return read_manifest(Path(folder))
        except ManifestError:
            return None
        finally:
            assert sorted(Path(folder).iterdir()) == before  # a reader writes nothing


@SETTINGS
@given(mutations=st.lists(st.tuples(PATHS, JSON_VALUES), min_size=1, max_size=3))
def test_mutated_manifest_fields(mutations: list[tuple[tuple[Any, ...], Any]]) -> None:
    manifest = copy.deepcopy(VALID_MANIFEST)
    for path, value in mutations:
        try:
            _set(manifest, path, value)
        except (KeyError, IndexError, TypeError):
            continue
    result = _read_manifest_text(json.dumps(manifest))
    if result is not None:  # accepted: then it keeps the rules
        versions = [c["version"] for c in result["checkpoints"]]
        assert versions == sorted(set(versions)) and result["latest"] == versions[-1]
        assert all("/" not in c["file"] and "\\" not in c["file"] and c["file"] not in (".", "..")
                   for c in result["checkpoints"])


@SETTINGS
@given(cut=st.integers(min_value=0, max_value=2000), garbage=st.binary(max_size=40))
def test_truncated_or_garbled_manifest(cut: int, garbage: bytes) -> None:
    text = json.dumps(VALID_MANIFEST).encode()
    _read_manifest_text(text[: cut % (len(text) + 1)] + garbage)  # reads or raises ManifestError


@SETTINGS
@given(depth=st.integers(min_value=MAX_MANIFEST_DEPTH + 1, max_value=100_000),
       opener=st.sampled_from(["[", "{\"a\":"]))
def test_deep_nesting_is_refused_without_recursion(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    document = dict(VALID_MANIFEST, extra="@")
    text = json.dumps(document).replace('"@"', opener * depth + "1" + closer * depth)
    assert _read_manifest_text(text) is None


@SETTINGS
@given(versions=st.lists(st.integers(min_value=-(10**20), max_value=10**20), min_size=1, max_size=5))
def test_duplicate_negative_and_huge_versions(versions: list[int]) -> None:
    manifest = copy.deepcopy(VALID_MANIFEST)
    manifest["checkpoints"] = [dict(VALID_MANIFEST["checkpoints"][0], version=v, file=f"p{i}.mat")
                               for i, v in enumerate(versions)]
    manifest["latest"] = versions[-1]
    result = _read_manifest_text(json.dumps(manifest))
    valid = all(v >= 1 for v in versions) and all(b > a for a, b in itertools.pairwise(versions))
    assert (result is not None) == valid


# --------------------------------------------------------------------------- bundles
@pytest.fixture(scope="module")
def bundle_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    model = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs={"net_arch": [4]}, buffer_size=10)
    return export_policy(model, tmp_path_factory.mktemp("b") / "p.mat").read_bytes()


def _load(data: bytes) -> dict[str, Any] | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.mat"
        path.write_bytes(data)
        try:
            return load_bundle(path)
        except BundleError:
            return None
        finally:
            assert sorted(Path(folder).iterdir()) == [path]


@SETTINGS
@given(cut=st.floats(min_value=0, max_value=1))
def test_truncated_bundle(bundle_bytes: bytes, cut: float) -> None:
    size = int(cut * len(bundle_bytes))
    result = _load(bundle_bytes[:size])
    assert result is None or size == len(bundle_bytes)


@SETTINGS
@given(flips=st.lists(st.tuples(st.floats(min_value=0, max_value=1), st.integers(0, 255)),
                      min_size=1, max_size=8))
def test_corrupted_bundle_bytes(bundle_bytes: bytes, flips: list[tuple[float, int]]) -> None:
    data = bytearray(bundle_bytes)
    for where, value in flips:
        data[min(int(where * len(data)), len(data) - 1)] = value
    _load(bytes(data))  # reads back or raises BundleError; anything else fails the test


MAT_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=True),
    st.text(max_size=10), st.lists(st.floats(allow_nan=False, width=32), max_size=4),
    st.sampled_from([np.zeros((0, 0)), np.array([1.0, 2.0]), np.array([[1.0], [2.0]]),
                     np.array([np.inf]), {"a": 1.0}, {"op": "nonsense"}, {"op": "linear"},
                     {"op": "relu", "inputs": np.array([0.0]), "output": 1.0}]))
FIELDS = st.sampled_from(["format", "format_version", "algorithm", "policy_class", "version",
                          "num_timesteps", "observation_space", "action_space", "inputs", "ops",
                          "output", "num_registers", "reference", "recurrent", "extra"])


@SETTINGS
@given(changes=st.lists(st.tuples(FIELDS, MAT_VALUES), min_size=1, max_size=3))
def test_mutated_bundle_fields(bundle_bytes: bytes, changes: list[tuple[str, Any]]) -> None:
    fields = scipy.io.loadmat(io.BytesIO(bundle_bytes), simplify_cells=True)
    fields = {k: v for k, v in fields.items() if not k.startswith("__")}
    for name, value in changes:
        fields[name] = np.zeros((0, 0)) if value is None else value
    buffer = io.BytesIO()
    try:
        scipy.io.savemat(buffer, fields, long_field_names=True)
    except Exception:  # a value savemat itself cannot store: nothing to read
        return
    _load(buffer.getvalue())


@pytest.mark.parametrize("version", [np.zeros((0, 0)), np.array([[1.0, 2.0]]), 2.0, "1", 1.5])
def test_bundle_format_version_must_be_exactly_one(bundle_bytes: bytes, version: Any) -> None:
    fields = scipy.io.loadmat(io.BytesIO(bundle_bytes))
    fields = {k: v for k, v in fields.items() if not k.startswith("__")}
    fields["format_version"] = version
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, fields)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "p.mat").write_bytes(buffer.getvalue())
        with pytest.raises(BundleError, match="format_version"):
            load_bundle(Path(folder) / "p.mat")


def test_unknown_op_and_bad_register_are_named(bundle_bytes: bytes, tmp_path: Path) -> None:
    fields = scipy.io.loadmat(io.BytesIO(bundle_bytes), simplify_cells=True)
    fields = {k: v for k, v in fields.items() if not k.startswith("__")}
    ops = list(fields["ops"])
    for mutate, message in ((lambda op: op.update(op="rm_rf"), r"op 1 is 'rm_rf'"),
                            (lambda op: op.update(output=0.0), r"op 1 \(linear\)'s 'output'"),
                            (lambda op: op.update(inputs=np.array([99.0])), r"'inputs'")):
        changed = [dict(op) for op in ops]
        mutate(changed[0])
        buffer = io.BytesIO()
        scipy.io.savemat(buffer, dict(fields, ops=np.array(changed, dtype=object).reshape(1, -1)),
                         long_field_names=True)
        (tmp_path / "p.mat").write_bytes(buffer.getvalue())
        with pytest.raises(BundleError, match=message):
            load_bundle(tmp_path / "p.mat")


# --------------------------------------------------------------------------- value side, frame stack
def _critic_models() -> dict[str, Any]:
    """One tiny model per critic kind and op family (TQC and QR-DQN: mean; RecurrentPPO: lstm)."""
    from envs import SpaceEnv, box
    from gymnasium import spaces
    from sb3_contrib import QRDQN, TQC, RecurrentPPO
    from stable_baselines3 import DQN, PPO

    flat, act, choice = box(-1, 1, (3,)), box(-1, 1, (2,)), spaces.Discrete(3)
    image = spaces.Box(0, 255, (36, 36, 1), np.uint8)
    def small(**extra: Any) -> dict[str, Any]:  # a fresh dict each: SB3 adds keys to it
        return {"net_arch": [4], **extra}

    return {
        "sac": SAC("MlpPolicy", SpaceEnv(flat, act), buffer_size=10, policy_kwargs=small()),
        "tqc": TQC("MlpPolicy", SpaceEnv(flat, act), buffer_size=10,
                   policy_kwargs=small(n_quantiles=3)),
        "dqn": DQN("MlpPolicy", SpaceEnv(flat, choice), buffer_size=10, policy_kwargs=small()),
        "qrdqn": QRDQN("MlpPolicy", SpaceEnv(flat, choice), buffer_size=10,
                       policy_kwargs=small(n_quantiles=3)),
        "recurrent": RecurrentPPO("MlpLstmPolicy", SpaceEnv(flat, choice), n_steps=8, batch_size=8,
                                  policy_kwargs=small(lstm_hidden_size=3)),
        "cnn": PPO("CnnPolicy", SpaceEnv(image, choice), n_steps=8, batch_size=8,
                   policy_kwargs=small(features_extractor_kwargs={"features_dim": 4})),
    }


@pytest.fixture(scope="module")
def value_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from envs import SpaceEnv, box
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack, VecNormalize

    folder = tmp_path_factory.mktemp("value")
    paths = {name: export_policy(model, folder / f"{name}.mat", critic=True)
             for name, model in _critic_models().items()}
    env = VecFrameStack(VecNormalize(DummyVecEnv(
        [lambda: SpaceEnv(box(-1, 1, (3,)), box(-1, 1, (2,)), episode_len=5)])), 3)
    model = PPO("MlpPolicy", env, n_steps=8, batch_size=8, policy_kwargs={"net_arch": [4]})
    paths["stack"] = export_policy(model, folder / "stack.mat", env=env, critic=True)
    return paths


def test_load_bundle_reads_every_critic_kind_and_known_ops_cover_them(value_bundles) -> None:
    """Bundles with critic and frame_stack read back; every op a critic writes is a known op."""
    from sb3_matlab_callback.bundle.bundle_check import KNOWN_OPS, as_list

    written: set[str] = set()
    for path in value_bundles.values():
        data = load_bundle(path)
        assert data["critic"]["kind"] in ("value", "q_continuous", "q_discrete")
        written |= {op["op"] for op in as_list(data["critic"]["ops"], path, "critic.ops")}
    assert {"linear", "concat", "mean", "lstm", "conv2d", "flatten"} <= written <= KNOWN_OPS
    assert load_bundle(value_bundles["stack"])["frame_stack"]["n_stack"] == 3


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    if value is _DROP:
        del data[path[-1]]
    else:
        data[path[-1]] = value


_DROP = object()
VALUE_CASES = [
    ("sac", ("critic", "ops", 0, "op"), "rm_rf", r"critic op 1 is 'rm_rf'"),
    ("sac", ("critic", "ops", 1, "inputs"), 99.0, r"critic op 2 \(linear\)'s 'inputs'"),
    ("sac", ("critic", "ops", 1, "output"), 0.0, r"critic op 2 \(linear\)'s 'output'"),
    ("sac", ("critic", "ops", 1, "inputs"), 5.0, r"critic op 2 \(linear\) reads register 5"),
    ("sac", ("critic", "ops", 2, "op"), "categorical_sample", r"never samples"),
    ("sac", ("critic", "ops", 2, "mode"), "deterministic", r"'mode' must be 'always'"),
    ("sac", ("critic", "output"), _DROP, r"'critic' lacks output"),
    ("sac", ("critic", "kind"), "advantage", r"'critic' must be a struct whose 'kind'"),
    ("sac", ("critic", "n_critics"), 0.0, r"critic 'n_critics'"),
    ("sac", ("critic", "action"), _DROP, r"critic 'action' is required"),
    ("sac", ("critic", "action", "register"), 1.0, r"filled by an observation input"),
    ("sac", ("critic", "action", "low"), np.zeros(3), r"critic 'action\.low'"),
    ("sac", ("reference", "critic", "values"), np.zeros((5, 2)), r"'reference\.critic\.values'"),
    ("recurrent", ("critic", "recurrent", "kind"), "none", r"at most one lstm op"),
    ("stack", ("frame_stack", "n_stack"), 0.0, r"'n_stack' is 0 \(no stack\)"),
    ("stack", ("frame_stack", "n_stack"), 2.5, r"frame_stack 'n_stack' must be an integer"),
    ("stack", ("frame_stack", "n_stack"), 4.0, r"frame_stack input 1: 4 frames"),
    ("stack", ("frame_stack", "inputs", "frame_shape"), 4.0, r"observation input takes \(9,\)"),
    ("stack", ("frame_stack", "inputs", "axis"), 2.0, r"frame_stack input 1's 'axis'"),
    ("stack", ("frame_stack", "inputs", "key"), "pixels", r"key 'pixels' must name one"),
    ("stack", ("frame_stack", "inputs", "mean"), np.zeros(4), r"'mean' must hold 3"),
    ("stack", ("frame_stack", "inputs", "normalize"), 2.0, r"'normalize' must be 0 or 1"),
    ("stack", ("reference", "episode_starts"), _DROP, r"'reference\.episode_starts'"),
    ("stack", ("reference", "episode_starts"), np.full(12, 0.5), r"'reference\.episode_starts'"),
    ("stack", ("reference", "episode_starts"), np.ones(5), r"'reference\.actions' must have one row"),
    ("stack", ("reference", "observations"), np.zeros((12, 4)), r"12 frames of shape \(3,\)"),
]


@pytest.mark.parametrize(("bundle", "path", "value", "message"), VALUE_CASES,
                         ids=[f"{c[0]}-{'.'.join(map(str, c[1]))}" for c in VALUE_CASES])
def test_critic_and_frame_stack_rules_name_the_field(value_bundles, tmp_path: Path, bundle: str,
                                                     path: tuple[Any, ...], value: Any,
                                                     message: str) -> None:
    data = scipy.io.loadmat(value_bundles[bundle], simplify_cells=True)
    data = {k: v for k, v in data.items() if not k.startswith("__")}
    _set(data, path, value)
    scipy.io.savemat(tmp_path / "p.mat", data, long_field_names=True)
    with pytest.raises(BundleError, match=message):
        load_bundle(tmp_path / "p.mat")


@pytest.mark.parametrize("dims", [(1_000_000, 1_000_000), (-1, 1), (0, 5)])
def test_array_sizes_that_disagree_with_their_data_are_refused_before_scipy(
        bundle_bytes: bytes, tmp_path: Path, dims: tuple[int, int]) -> None:
    """scipy trusts these sizes (a crafted file crashed it with a segfault): check_mat5 does not."""
    import struct

    data = bytearray(bundle_bytes)
    name = data.index(b"num_registers")  # the variable's name follows its dimensions
    struct.pack_into("<ii", data, name - 16, *dims)
    (tmp_path / "p.mat").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="corrupt or not a MAT file"):
        load_bundle(tmp_path / "p.mat")
