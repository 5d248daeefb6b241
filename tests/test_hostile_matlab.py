"""Hostile manifests and bundles run through the +sb3 runtime in Octave (issue #10).

Each case is built in Python from a real export of a tiny SAC or PPO, then mutated with
``json`` or ``scipy.io.savemat``. One Octave process runs every case and prints the error
ID it raised, and the attempt at which ``sb3.latest`` gave up: permanent errors must end
the retries at once (a count, not a timing).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import scipy.io
from envs import SpaceEnv, box
from octave import run_octave
from stable_baselines3 import PPO, SAC

from sb3_matlab_callback import MatlabExportCallback, export_policy

pytestmark = pytest.mark.octave


def _fields(path: Path) -> dict[str, Any]:
    return {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}


def _mutate(good: Path, out: Path, change) -> None:
    data = _fields(good)
    change(data)
    scipy.io.savemat(out, data, long_field_names=True)


def _op(data: dict[str, Any], index: int) -> Any:
    return data["ops"][0, index][0, 0]


#: Bundle cases: file name -> (mutation, expected error ID of sb3.load_policy).
def _bundle_cases() -> dict[str, tuple[Any, str]]:
    def set_top(name: str, value: Any):
        return lambda d: d.__setitem__(name, value)

    def set_op(index: int, name: str, value: Any):
        def change(d: dict[str, Any]) -> None:
            op = _op(d, index)
            fields = {n: op[n] for n in op.dtype.names}
            fields[name] = value
            d["ops"][0, index] = _record(fields)
        return change

    def drop_op_field(index: int, name: str):
        def change(d: dict[str, Any]) -> None:
            op = _op(d, index)
            d["ops"][0, index] = _record({n: op[n] for n in op.dtype.names if n != name})
        return change

    return {
        "unknown_op": (set_op(0, "op", "quantum_gate"), "sb3:load_policy:corrupt"),
        "linear_weight_size": (set_op(0, "weight", np.ones((4, 5))), "sb3:load_policy:corrupt"),
        "linear_bias_size": (set_op(0, "bias", np.ones((1, 7))), "sb3:load_policy:corrupt"),
        "register_zero": (set_op(1, "inputs", np.array([[0.0]])), "sb3:load_policy:corrupt"),
        "register_too_large": (set_op(1, "inputs", np.array([[99.0]])), "sb3:load_policy:corrupt"),
        "register_fraction": (set_op(1, "output", 1.5), "sb3:load_policy:corrupt"),
        "register_unwritten": (set_op(1, "inputs", np.array([[6.0]])), "sb3:load_policy:corrupt"),
        "missing_weight": (drop_op_field(0, "weight"), "sb3:load_policy:corrupt"),
        "weight_text": (set_op(0, "weight", "ones(4)"), "sb3:load_policy:corrupt"),
        "weight_complex": (set_op(0, "weight", np.ones((4, 3)) * 1j), "sb3:load_policy:corrupt"),
        "bad_mode": (set_op(0, "mode", "sometimes"), "sb3:load_policy:corrupt"),
        "num_registers_huge": (set_top("num_registers", 1e12), "sb3:load_policy:corrupt"),
        "output_outside": (set_top("output", 0.0), "sb3:load_policy:corrupt"),
        "ops_not_cell": (set_top("ops", np.eye(2)), "sb3:load_policy:corrupt"),
        "space_not_struct": (set_top("action_space", 3.0), "sb3:load_policy:corrupt"),
        "sparse_weight": (set_op(0, "weight", __import__("scipy.sparse").sparse.csr_matrix(
            np.ones((4, 3)))), "sb3:load_policy:corrupt"),
        "format_version_empty": (set_top("format_version", np.zeros((0, 0))),
                                 "sb3:load_policy:badVersion"),
        "format_version_pair": (set_top("format_version", np.array([[1.0, 2.0]])),
                                "sb3:load_policy:badVersion"),
        "format_version_two": (set_top("format_version", 2.0), "sb3:load_policy:badVersion"),
        "missing_ops": (lambda d: d.pop("ops"), "sb3:load_policy:corrupt"),
        "extra_variable": (set_top("payload", np.ones((3, 3))), "ok"),
    }


def _record(fields: dict[str, Any]) -> np.ndarray:
    """A 1x1 MATLAB struct (numpy record) with ``fields``."""
    out = np.empty((1, 1), dtype=[(name, object) for name in fields])
    for name, value in fields.items():
        out[0, 0][name] = value
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    sac = SAC("MlpPolicy", SpaceEnv(box(-1, 1, (3,)), box(-1, 1, (2,))), buffer_size=10,
              learning_starts=10_000, policy_kwargs={"net_arch": [4]}, seed=0)
    export_policy(sac, tmp / "sac.mat")
    ppo = PPO("MlpPolicy", SpaceEnv(box(-1, 1, (3,)), gym.spaces.Discrete(3)), n_steps=8,
              batch_size=8, policy_kwargs={"net_arch": [4]}, seed=0)
    export_policy(ppo, tmp / "ppo.mat")
    for name, (change, _) in _bundle_cases().items():
        _mutate(tmp / "sac.mat", tmp / f"b_{name}.mat", change)
    good = (tmp / "sac.mat").read_bytes()
    (tmp / "b_truncated.mat").write_bytes(good[: len(good) // 3])
    # A committed export folder, and hostile copies of its manifest.
    sac.learn(4, callback=MatlabExportCallback(2, tmp / "run"))
    manifest = json.loads((tmp / "run" / "manifest.json").read_text())
    (tmp / "outside.mat").write_bytes((tmp / "sac.mat").read_bytes())  # a valid bundle
    for name, change in _manifest_cases(tmp).items():
        folder = tmp / f"m_{name}"
        shutil.copytree(tmp / "run", folder)
        if isinstance(change, str):
            (folder / "manifest.json").write_text(change)
        else:
            edited = json.loads(json.dumps(manifest))
            change(edited)
            (folder / "manifest.json").write_text(json.dumps(edited))
    return tmp


def _manifest_cases(tmp: Path) -> dict[str, Any]:
    outside = str(tmp / "outside.mat")

    def last(key: str, value: Any):
        return lambda m: m["checkpoints"][-1].__setitem__(key, value)

    def top(key: str, value: Any):
        return lambda m: m.__setitem__(key, value)

    def sha_of_outside(m: dict[str, Any], name: str) -> None:
        import hashlib
        data = Path(outside).read_bytes()
        m["checkpoints"][-1].update(file=name, sha256=hashlib.sha256(data).hexdigest(),
                                    bytes=len(data))

    return {
        "dotdot": lambda m: sha_of_outside(m, "../outside.mat"),
        "absolute": lambda m: sha_of_outside(m, outside),
        "backslash": lambda m: sha_of_outside(m, "..\\outside.mat"),
        "drive": lambda m: sha_of_outside(m, "C:outside.mat"),
        "dot": last("file", "."),
        "empty_name": last("file", ""),
        "number_name": last("file", 42),
        "list_name": last("file", ["a.mat"]),
        "nul_name": last("file", "a\u0000.mat"),
        "negative_version": last("version", -1),
        "fraction_version": last("version", 1.5),
        "huge_version": last("version", 1e300),
        "bool_version": last("version", True),
        "duplicate_version": lambda m: m["checkpoints"].append(dict(m["checkpoints"][-1])),
        "duplicate_file": lambda m: m["checkpoints"].append(
            {**m["checkpoints"][-1], "version": m["latest"] + 1}) or m.update(latest=m["latest"] + 1),
        "descending": lambda m: m["checkpoints"].reverse(),
        "latest_mismatch": top("latest", 99),
        "latest_text": top("latest", "2"),
        "missing_sha": lambda m: m["checkpoints"][-1].pop("sha256"),
        "upper_sha": lambda m: m["checkpoints"][-1].update(
            sha256=m["checkpoints"][-1]["sha256"].upper()),
        "short_sha": last("sha256", "abc"),
        "negative_bytes": last("bytes", -5),
        "format_version_empty": top("format_version", []),
        "format_version_pair": top("format_version", [1, 2]),
        "format_version_two": top("format_version", 2),
        "format_version_true": top("format_version", True),
        "wrong_format": top("format", "zip"),
        "no_checkpoints": top("checkpoints", []),
        "checkpoints_object": top("checkpoints", {"version": 1}),
        "top_array": "[1, 2, 3]",
        "deep": "[" * 40 + "]" * 40,
        "not_json": "{\"format\": ",
        "wrong_sha": last("sha256", "0" * 64),
        "wrong_bytes": last("bytes", 12),
    }


#: Expected (error ID, attempt at which sb3.latest gave up) per manifest case.
MANIFEST_EXPECTED = {name: ("sb3:latest:badManifest", 1) for name in (
    "dotdot", "absolute", "backslash", "drive", "dot", "empty_name", "number_name", "list_name",
    "nul_name", "negative_version", "fraction_version", "huge_version", "bool_version",
    "duplicate_version", "duplicate_file", "descending", "latest_mismatch", "latest_text",
    "missing_sha", "upper_sha", "short_sha", "negative_bytes", "format_version_empty",
    "format_version_pair", "format_version_two", "format_version_true", "wrong_format",
    "no_checkpoints", "checkpoints_object", "top_array")}
MANIFEST_EXPECTED.update({
    "deep": ("sb3:latest:badManifest", 2),       # unparseable, the same text twice
    "not_json": ("sb3:latest:badManifest", 2),
    "wrong_sha": ("sb3:latest:unavailable", 2),  # differs twice from an unchanged manifest
    "wrong_bytes": ("sb3:latest:unavailable", 2),
})

SCRIPT = """
names = {names};
for k = 1:numel(names)
  try
    {call}
    printf('%s\\tok\\t0\\n', names{{k}});
  catch err
    n = regexp(err.message, 'gave up at attempt (\\d+)', 'tokens', 'once');
    if isempty(n), n = {{'0'}}; end
    printf('%s\\t%s\\t%s\\t%s\\n', names{{k}}, err.identifier, n{{1}}, ...
           strrep(err.message, char(10), ' '));
  end
end
"""


def _run(corpus: Path, names: list[str], call: str) -> dict[str, tuple[str, int, str]]:
    cell = "{" + ", ".join(f"'{n}'" for n in names) + "}"
    out = run_octave(SCRIPT.format(names=cell, call=call), corpus, timeout=600).stdout
    rows = [line.split("\t") for line in out.splitlines() if line.count("\t") >= 2]
    return {r[0]: (r[1], int(r[2]), r[3] if len(r) > 3 else "") for r in rows}


@pytest.fixture(scope="module")
def manifest_outcomes(corpus: Path) -> dict[str, tuple[str, int, str]]:
    return _run(corpus, list(MANIFEST_EXPECTED), "sb3.latest(['m_' names{k}]);")


@pytest.fixture(scope="module")
def bundle_outcomes(corpus: Path) -> dict[str, tuple[str, int, str]]:
    names = [*_bundle_cases(), "truncated"]
    return _run(corpus, names, "p = sb3.load_policy(['b_' names{k} '.mat']); "
                "sb3.predict(p, [0.1 0.2 0.3]); sb3.verify(p);")


@pytest.mark.parametrize("case", list(MANIFEST_EXPECTED))
def test_hostile_manifest_gets_its_error_at_once(manifest_outcomes, case: str) -> None:
    identifier, attempt, message = manifest_outcomes[case]
    assert (identifier, attempt) == MANIFEST_EXPECTED[case], message


@pytest.mark.parametrize("case", ["dotdot", "absolute", "backslash", "drive"])
def test_path_escapes_name_the_rule_and_never_load_the_outside_bundle(manifest_outcomes,
                                                                      case: str) -> None:
    identifier, _, message = manifest_outcomes[case]
    assert identifier == "sb3:latest:badManifest"
    assert re.search(r"bare file name", message), message


def test_outside_bundle_is_valid_and_poll_and_runs_refuse_it_too(corpus: Path) -> None:
    """The outside file is a real bundle: only the name rule keeps readers away from it."""
    proc = run_octave("""
    p = sb3.load_policy('outside.mat'); printf('valid %d\\n', p.version);
    try
      sb3.poll([], 'm_dotdot');
    catch err
      printf('poll %s\\n', err.identifier);
    end
    lastwarn('');
    r = sb3.runs('m_dotdot');
    [~, id] = lastwarn();
    printf('runs %d %s\\n', numel(r), id);
    """, corpus, timeout=120)
    assert proc.stdout.split("\n")[:3] == ["valid 1", "poll sb3:poll:badManifest",
                                           "runs 0 sb3:runs:badManifest"]


@pytest.mark.parametrize("case", [*_bundle_cases(), "truncated"])
def test_hostile_bundle_gets_its_error_id(bundle_outcomes, case: str) -> None:
    expected = _bundle_cases()[case][1] if case != "truncated" else "sb3:load_policy:corrupt"
    identifier, _, message = bundle_outcomes[case]
    assert identifier == expected, message
    if expected == "sb3:load_policy:corrupt" and case.startswith(("linear", "register", "missing_w")):
        assert re.search(r"op \d+ \((linear|relu|tanh)\)", message), message


def test_function_handles_and_objects_are_refused_by_the_class_check(tmp_path: Path) -> None:
    """Neither scipy's nor Octave's MAT writer stores function handles, so no file of this
    corpus holds one; the check that sb3.load_policy runs first refuses them in memory."""
    proc = run_octave("""
    S = struct('format', 'x', 'reference', struct('actions', {{1, @() system('touch m')}}));
    printf('%s\\n', sb3.internal.check_classes(S, 'the bundle', 8));
    printf('%s\\n', sb3.internal.check_classes({1, int8(2), sparse(1)}, 'c', 8));
    """, tmp_path)
    assert proc.stdout.splitlines() == ["the bundle.reference.actions{2} is a function_handle",
                                        "c{3} is sparse"]
    assert not (tmp_path / "m").exists()
