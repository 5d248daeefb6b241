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
from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack, VecNormalize

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


# --------------------------------------------------------------------------- value side, frame stack
DROP = object()  # a path value: remove the field


def _set_path(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """Return ``value`` (loadmat's nested 1x1 struct arrays and 1xn cells) with ``path`` set."""
    head, rest = path[0], path[1:]
    if isinstance(head, int):  # a cell element, 0-based
        cell = value.copy()
        cell[0, head] = _set_path(value[0, head], rest, new) if rest else new
        return cell
    fields = {n: value[0, 0][n] for n in value.dtype.names}
    if not rest and new is DROP:
        del fields[head]
    else:
        fields[head] = _set_path(fields[head], rest, new) if rest else new
    return _record(fields)


def _edit(*changes: tuple[tuple[Any, ...], Any]):
    """A mutation setting each ``(path, value)``: the first name is a variable of the bundle."""
    def change(d: dict[str, Any]) -> None:
        for path, value in changes:
            if len(path) == 1 and value is DROP:
                d.pop(path[0])
            elif len(path) == 1:
                d[path[0]] = value
            else:
                d[path[0]] = _set_path(d[path[0]], path[1:], value)
    return change


CORRUPT = "sb3:load_policy:corrupt"
#: SAC with critic=True: critic ops 0 concat(obs, action), 1 linear (5 -> 4), 2 relu, 3 linear,
#: 4 linear, 5 relu, 6 linear, 7 concat; the action fills register 9 (file name -> mutation).
CRITIC_CASES: dict[str, Any] = {
    "unknown_op": _edit((("critic", "ops", 1, "op"), "quantum_gate")),
    "sampling_op": _edit((("critic", "ops", 2, "op"), "categorical_sample")),
    "weight_size": _edit((("critic", "ops", 1, "weight"), np.ones((4, 4), np.float32))),
    "bias_size": _edit((("critic", "ops", 3, "bias"), np.ones((1, 3), np.float32))),
    "weight_text": _edit((("critic", "ops", 1, "weight"), "eval('1')")),
    "register_out_of_range": _edit((("critic", "ops", 0, "inputs"), np.array([[1.0, 99.0]]))),
    "register_zero": _edit((("critic", "ops", 1, "output"), 0.0)),
    "register_unwritten": _edit((("critic", "ops", 1, "inputs"), np.array([[5.0]]))),
    "output_unwritten": _edit((("critic", "output"), 5.0)),
    "output_width": _edit((("critic", "n_critics"), 3.0)),
    "missing_output": _edit((("critic", "output"), DROP)),
    "missing_ops": _edit((("critic", "ops"), DROP)),
    "missing_op_field": _edit((("critic", "ops", 4, "weight"), DROP)),
    "missing_mode": _edit((("critic", "ops", 2, "mode"), DROP)),
    "missing_action": _edit((("critic", "action"), DROP)),
    "stochastic_mode": _edit((("critic", "ops", 2, "mode"), "stochastic")),
    "unknown_kind": _edit((("critic", "kind"), "advantage")),
    "not_struct": _edit((("critic",), 3.0)),
    "ops_empty": _edit((("critic", "ops"), np.zeros((0, 0)))),
    "recurrent_without_lstm": _edit((("critic", "recurrent", "kind"), "lstm")),
    "action_register_is_input": _edit((("critic", "action", "register"), 1.0)),
    "action_register_outside": _edit((("critic", "action", "register"), 40.0)),
    "action_dim": _edit((("critic", "action", "dim"), 3.0)),
    "action_low_size": _edit((("critic", "action", "low"), np.ones((1, 3)))),
    "action_scale_vector": _edit((("critic", "action", "scale"), np.ones((1, 2)))),
    "reference_values_size": _edit((("reference", "critic", "values"), np.ones((5, 2)))),
    "reference_values_columns": _edit((("reference", "critic", "values"), np.ones((16, 3)))),
    "reference_atol_vector": _edit((("reference", "critic", "atol"), np.ones((1, 2)))),
    "reference_critic_text": _edit((("reference", "critic"), "values")),
    "reference_actions_columns": _edit((("reference", "actions"), np.ones((16, 3))),
                                       (("reference", "atol"), 1.0)),
}
#: PPO on VecFrameStack(VecNormalize(env), 3) of 3-vectors, critic=True (file name -> mutation).
STACK_CASES: dict[str, Any] = {
    "n_stack_zero": _edit((("frame_stack", "n_stack"), 0.0)),
    "n_stack_fraction": _edit((("frame_stack", "n_stack"), 2.5)),
    "n_stack_negative": _edit((("frame_stack", "n_stack"), -3.0)),
    "n_stack_nan": _edit((("frame_stack", "n_stack"), np.nan)),
    "n_stack_pair": _edit((("frame_stack", "n_stack"), np.array([[3.0, 3.0]]))),
    "n_stack_struct": _edit((("frame_stack", "n_stack"), _record({"n": 3.0}))),
    "n_stack_mismatch": _edit((("frame_stack", "n_stack"), 4.0)),
    "frame_shape_size": _edit((("frame_stack", "inputs", 0, "frame_shape"), 4.0)),
    "frame_shape_zero": _edit((("frame_stack", "inputs", 0, "frame_shape"), 0.0)),
    "axis_outside": _edit((("frame_stack", "inputs", 0, "axis"), 2.0)),
    "mean_size": _edit((("frame_stack", "inputs", 0, "mean"), np.zeros((1, 4)))),
    "var_column": _edit((("frame_stack", "inputs", 0, "var"), np.ones((3, 1)))),
    "var_negative": _edit((("frame_stack", "inputs", 0, "var"), -np.ones((1, 3)))),
    "epsilon_text": _edit((("frame_stack", "inputs", 0, "epsilon"), "1e-8")),
    "normalize_two": _edit((("frame_stack", "inputs", 0, "normalize"), 2.0)),
    "missing_axis": _edit((("frame_stack", "inputs", 0, "axis"), DROP)),
    "missing_mean": _edit((("frame_stack", "inputs", 0, "mean"), DROP)),
    "missing_inputs": _edit((("frame_stack", "inputs"), DROP)),
    "inputs_empty": _edit((("frame_stack", "inputs"), np.zeros((0, 0)))),
    "key_unknown": _edit((("frame_stack", "inputs", 0, "key"), "pixels")),
    "not_struct": _edit((("frame_stack",), "stack")),
    "starts_missing": _edit((("reference", "episode_starts"), DROP)),
    "starts_short": _edit((("reference", "episode_starts"), np.ones((5, 1)))),
    "starts_nan": _edit((("reference", "episode_starts"), np.full((12, 1), np.nan))),
    "observations_rows": _edit((("reference", "observations"), np.zeros((5, 3)))),
    "observations_frame_size": _edit((("reference", "observations"), np.zeros((12, 4)))),
    "actions_rows": _edit((("reference", "actions"), np.zeros((5, 2)))),
    "critic_values_rows": _edit((("reference", "critic", "values"), np.zeros((5, 1)))),
    "critic_op_weight": _edit((("critic", "ops", 0, "weight"), np.ones((4, 3), np.float32))),
}


@pytest.fixture(scope="module")
def value_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real exports with critic=True (SAC; PPO on a frame stack), and their hostile copies."""
    tmp = tmp_path_factory.mktemp("hostile_value")
    sac = SAC("MlpPolicy", SpaceEnv(box(-1, 1, (3,)), box(-1, 1, (2,))), buffer_size=10,
              learning_starts=10_000, policy_kwargs={"net_arch": [4]}, seed=0)
    export_policy(sac, tmp / "sac.mat", critic=True)
    env = VecFrameStack(VecNormalize(DummyVecEnv(
        [lambda: SpaceEnv(box(-1, 1, (3,)), box(-1, 1, (2,)), episode_len=5)])), 3)
    ppo = PPO("MlpPolicy", env, n_steps=8, batch_size=8, policy_kwargs={"net_arch": [4]}, seed=0)
    export_policy(ppo, tmp / "stack.mat", env=env, critic=True)
    for prefix, good, cases in (("c", "sac", CRITIC_CASES), ("s", "stack", STACK_CASES)):
        shutil.copy(tmp / f"{good}.mat", tmp / f"{prefix}_good.mat")
        for name, change in cases.items():
            _mutate(tmp / f"{good}.mat", tmp / f"{prefix}_{name}.mat", change)
    return tmp


@pytest.fixture(scope="module")
def critic_outcomes(value_corpus: Path) -> dict[str, tuple[str, int, str]]:
    return _run(value_corpus, ["good", *CRITIC_CASES],
                "p = sb3.load_policy(['c_' names{k} '.mat']); o = [0.1 0.2 0.3]; "
                "sb3.q_value(p, o, sb3.predict(p, o)); sb3.verify(p);")


@pytest.fixture(scope="module")
def stack_outcomes(value_corpus: Path) -> dict[str, tuple[str, int, str]]:
    return _run(value_corpus, ["good", *STACK_CASES],
                "p = sb3.load_policy(['s_' names{k} '.mat']); o = [0.1 0.2 0.3]; "
                "[a, s] = sb3.predict(p, o, 'State', [], 'EpisodeStart', true); "
                "sb3.predict(p, o, 'State', s); sb3.value(p, o); sb3.verify(p);")


@pytest.mark.parametrize("case", ["good", *CRITIC_CASES])
def test_hostile_critic_is_refused_at_load_naming_it(critic_outcomes, case: str) -> None:
    identifier, _, message = critic_outcomes[case]
    if case == "good":  # the unchanged bundle loads, gives Q-values and verifies
        assert identifier == "ok", message
        return
    assert identifier == CORRUPT, message
    assert re.search(r"critic", message), message
    if case in ("unknown_op", "sampling_op", "weight_size", "bias_size", "weight_text",
                "register_out_of_range", "register_zero", "register_unwritten",
                "missing_op_field", "missing_mode", "stochastic_mode"):
        assert re.search(r"critic op \d+ (\((linear|relu|concat|\?|categorical_sample)\)|uses op "
                         r"'quantum_gate')", message), message


@pytest.mark.parametrize("case", ["good", *STACK_CASES])
def test_hostile_frame_stack_is_refused_at_load_naming_it(stack_outcomes, case: str) -> None:
    identifier, _, message = stack_outcomes[case]
    if case == "good":  # the unchanged bundle loads, stacks, gives values and verifies
        assert identifier == "ok", message
        return
    assert identifier == CORRUPT, message
    part = "critic op 1" if case == "critic_op_weight" else \
        "reference" if case.startswith(("starts", "observations", "actions", "critic")) else \
        "frame_stack"
    assert part in message, message


def test_python_reader_refuses_the_same_critic_and_frame_stack_corpus(value_corpus: Path) -> None:
    """load_bundle reads the good bundles and refuses the hostile copies its rules cover."""
    from sb3_matlab_callback import BundleError, load_bundle

    for good in ("c_good.mat", "s_good.mat"):
        load_bundle(value_corpus / good)
    # Widths and sizes inside an op (weight_size, bias_size, mean_size, ...) are MATLAB's
    # check alone; the Python reader checks names, registers, fields and counts.
    python_cases = [f"c_{name}" for name in (
        "unknown_op", "sampling_op", "register_out_of_range", "register_zero",
        "register_unwritten", "output_unwritten", "missing_output", "missing_ops",
        "missing_action", "stochastic_mode", "unknown_kind", "not_struct", "ops_empty",
        "recurrent_without_lstm", "action_register_is_input", "action_register_outside",
        "action_low_size", "action_scale_vector", "reference_values_size",
        "reference_values_columns", "reference_atol_vector", "reference_critic_text",
        "reference_actions_columns")] + [f"s_{name}" for name in (
        "n_stack_zero", "n_stack_fraction", "n_stack_negative", "n_stack_nan", "n_stack_pair",
        "n_stack_struct",
        "n_stack_mismatch", "frame_shape_size", "frame_shape_zero", "axis_outside", "mean_size",
        "epsilon_text", "normalize_two", "missing_axis", "missing_mean", "missing_inputs",
        "inputs_empty", "key_unknown", "not_struct", "starts_missing", "starts_short",
        "starts_nan", "observations_rows", "observations_frame_size", "actions_rows",
        "critic_values_rows")]
    for name in python_cases:
        with pytest.raises(BundleError, match="corrupt"):
            load_bundle(value_corpus / f"{name}.mat")


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
