"""The +sb3 runtime against careless and hostile input, in real Octave (issues #12 and #7).

NaN never becomes a number, wrong observation types and values get clear errors, poll
recognises a restarted run, manifests cannot crash or hang the reader, deep MLPs and Dict
keys that are not MATLAB names keep parity with SB3, and the README's closed-loop command
works as written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import scipy.io
from delivery_helpers import tiny_sac
from envs import SpaceEnv, box, fresh_observations, perturb
from octave import PredictCall, octave_predict_many, require_octave, run_octave
from stable_baselines3 import PPO, SAC, TD3
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from sb3_matlab_callback import MatlabExportCallback, export_policy
from sb3_matlab_callback.errors import UnsupportedError
from sb3_matlab_callback.translate.spaces import matlab_field_name

pytestmark = pytest.mark.octave
ROOT = Path(__file__).resolve().parents[2]
SAVE_JSON = "fid = fopen('out.json', 'w'); fprintf(fid, '%s', jsonencode(out)); fclose(fid);"


def _json(workdir: Path) -> dict[str, Any]:
    return json.loads((workdir / "out.json").read_text())


def _rewrite(src: Path, dst: Path, edit: Any) -> Path:
    """Copy a bundle with ``edit(data)`` applied to its variables (as scipy reads them)."""
    data = {k: v for k, v in scipy.io.loadmat(src).items() if not k.startswith("__")}
    edit(data)
    scipy.io.savemat(dst, data, long_field_names=True)
    return dst


def _first_linear(data: dict[str, Any]) -> Any:
    ops = data["ops"]
    return next(ops[0, k][0, 0] for k in range(ops.shape[1]) if ops[0, k][0, 0]["op"][0] == "linear")


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("robust")
    td3 = TD3("MlpPolicy", SpaceEnv(box(-1, 1, (3,)), box(-2, 2, (2,))), buffer_size=10,
              policy_kwargs={"net_arch": [8, 8]}, seed=0)
    export_policy(td3, tmp / "td3.mat")
    ppo = PPO("MlpPolicy", SpaceEnv(box(-1, 1, (3,)), gym.spaces.Discrete(4)), n_steps=8,
              batch_size=8, policy_kwargs={"net_arch": [8]}, seed=0)
    perturb(ppo)
    export_policy(ppo, tmp / "ppo.mat")

    def nan_weight(data: dict[str, Any]) -> None:
        _first_linear(data)["weight"][0, 0] = np.nan

    _rewrite(tmp / "td3.mat", tmp / "td3_nan.mat", nan_weight)
    _rewrite(tmp / "ppo.mat", tmp / "ppo_nan.mat", nan_weight)

    def nan_reference(data: dict[str, Any]) -> None:
        data["reference"][0, 0]["actions"][0, 0] = np.nan

    _rewrite(tmp / "td3.mat", tmp / "td3_nan_reference.mat", nan_reference)
    for name, value in (("empty", np.zeros((0, 0))), ("pair", np.array([[1.0, 2.0]]))):
        _rewrite(tmp / "td3.mat", tmp / f"version_{name}.mat",
                 lambda data, v=value: data.__setitem__("format_version", v))

    def tie(data: dict[str, Any]) -> None:
        ops = data["ops"]
        last = [ops[0, k][0, 0] for k in range(ops.shape[1]) if ops[0, k][0, 0]["op"][0] == "linear"][-1]
        last["weight"][1, :] = last["weight"][0, :]
        last["bias"][0, :2] = 100.0  # choices 0 and 1 tie exactly and beat the others
        data["reference"][0, 0]["actions"][:, 0] = 1.0  # SB3 broke the exact tie the other way

    _rewrite(tmp / "ppo.mat", tmp / "ppo_tie.mat", tie)
    return tmp


CASES = {
    "nan-weights-box": ("p = sb3.load_policy('td3_nan.mat'); r = sb3.predict(p, [0.1 0.2 0.3]);"
                        "r = all(isnan(r));", "ok"),
    "nan-weights-batch": ("p = sb3.load_policy('td3_nan.mat', 'Precision', 'double');"
                          "r = all(all(isnan(sb3.predict(p, rand(5, 3)))));", "ok"),
    "nan-weights-discrete": ("p = sb3.load_policy('ppo_nan.mat'); r = isnan(sb3.predict(p, [0 0 0]));",
                             "ok"),
    "nan-obs": ("p = sb3.load_policy('td3.mat'); sb3.predict(p, [NaN 0 0]);", "sb3:predict:badObsValue"),
    "inf-obs": ("p = sb3.load_policy('td3.mat'); sb3.predict(p, [0 -Inf 0]);",
                "sb3:predict:badObsValue"),
    "inf-obs-column": ("p = sb3.load_policy('td3.mat'); sb3.predict(p, [0; Inf; 0]);",
                       "sb3:predict:badObsValue"),
    "char-obs": ("p = sb3.load_policy('td3.mat'); sb3.predict(p, '123');", "sb3:predict:badObsType"),
    "complex-obs": ("p = sb3.load_policy('td3.mat'); sb3.predict(p, [1 2 3i]);",
                    "sb3:predict:badObsType"),
    "sparse-obs": ("p = sb3.load_policy('td3.mat'); sb3.predict(p, sparse([1 0 1]));",
                   "sb3:predict:badObsType"),
    "cell-obs": ("p = sb3.load_policy('td3.mat'); sb3.predict(p, {1, 2, 3});", "sb3:predict:badObsType"),
    "struct-obs": ("p = sb3.load_policy('td3.mat'); sb3.predict(p, struct('a', [1 2 3]));",
                   "sb3:predict:badObsType"),
    "logical-int-obs": ("p = sb3.load_policy('td3.mat'); a = sb3.predict(p, [true false true]);"
                        "b = sb3.predict(p, int8([1 0 1])); r = isequal(a, b) && isa(a, 'double');",
                        "ok"),
    "beyond-fast-limit": ("p = sb3.load_policy('td3.mat', 'Precision', 'double');"
                          "a = sb3.predict(p, [10 * p.fast_limit 0 0]);"
                          "r = p.fast_limit >= 1e6 && numel(a) == 2;",
                          "ok"),
    "version-empty": ("sb3.load_policy('version_empty.mat');", "sb3:load_policy:badVersion"),
    "version-pair": ("sb3.load_policy('version_pair.mat');", "sb3:load_policy:badVersion"),
    "verify-nan-reference": ("sb3.verify(sb3.load_policy('td3_nan_reference.mat'));",
                             "sb3:verify:nonFinite"),
    "verify-nan-actions": ("sb3.verify(sb3.load_policy('td3_nan.mat'));", "sb3:verify:nonFinite"),
    "verify-near-tie": ("[e, ties] = sb3.verify(sb3.load_policy('ppo_tie.mat')); r = e == 0 && ties > 0;",
                        "ok"),
    "verify-real-mismatch": ("p = sb3.load_policy('ppo.mat'); p.reference.actions = "
                             "mod(p.reference.actions + 1, 4); sb3.verify(p);", "sb3:verify:mismatch"),
    "retry-after-pause-off": ("pause('off'); t = tic; sb3.internal.retry_pause(6); r = toc(t) >= 0.2;"
                              "pause('on');", "ok"),
    "nan-every-activation": (
        "names = {'sigmoid','elu','celu','selu','leaky_relu','prelu','silu','mish','gelu',"
        "'gelu_tanh','softplus','softsign','hardtanh','hardsigmoid','hardswish','logsigmoid',"
        "'tanhshrink','softshrink','hardshrink','threshold'};"
        "o = struct('alpha', 1, 'negative_slope', 0.1, 'weight', 0.25, 'beta', 1, 'threshold', 20,"
        "'min_val', -1, 'max_val', 1, 'lambd', 0.5, 'value', 3);"
        "r = true; for k = 1:numel(names), o.op = names{k}; "
        "y = sb3.internal.activation(o, [NaN 0.5 -Inf Inf]); r = r && isnan(y(1)); end;"
        "R = {[NaN 1], [], []}; ops = {struct('op', 'relu', 'in1', 1, 'output', 2), "
        "struct('op', 'clip', 'in1', 2, 'output', 3, 'low', [-1 -1], 'high', [1 1])};"
        "R = sb3.internal.run_ops(struct('precision', 'double'), ops, R, [], [], []);"
        "r = r && isnan(R{3}(1)) && R{3}(2) == 1 && isnan(sb3.internal.argmax_rows([1 NaN 2]));",
        "ok"),
}


@pytest.fixture(scope="module")
def outcomes(bundles: Path) -> dict[str, tuple[str, str]]:
    script = ["ids = {}; msgs = {};"]
    for name, (code, _) in CASES.items():
        script.append(f"try\n  r = true;\n  {code}\n"
                      f"  if r, ids{{end+1}} = 'ok'; else, ids{{end+1}} = 'false'; end\n"
                      f"  msgs{{end+1}} = '{name}';\ncatch e\n  ids{{end+1}} = e.identifier;"
                      f" msgs{{end+1}} = e.message;\nend")
    script.append("for k = 1:numel(ids), printf('%s\\t%s\\n', ids{k}, strrep(msgs{k}, char(10), ' ')); end")
    out = run_octave("\n".join(script), bundles).stdout.strip().splitlines()
    lines = [line.split("\t", 1) for line in out if "\t" in line]
    assert len(lines) == len(CASES), out
    return dict(zip(CASES, [(i, m) for i, m in lines], strict=True))


@pytest.mark.parametrize("case", list(CASES))
def test_runtime_robustness(outcomes: dict[str, tuple[str, str]], case: str) -> None:
    identifier, message = outcomes[case]
    assert identifier == CASES[case][1], message


def test_obs_type_error_names_the_class(outcomes: dict[str, tuple[str, str]]) -> None:
    assert "class char" in outcomes["char-obs"][1]
    assert "complex double" in outcomes["complex-obs"][1]
    assert "sparse double" in outcomes["sparse-obs"][1]


# --------------------------------------------------------------------------- poll and manifests
def _train(folder: Path, seed: int) -> None:
    model = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs={"net_arch": [8]}, learning_starts=10_000,
                seed=seed, device="cpu")
    model.learn(100, callback=MatlabExportCallback(100, folder))


def test_poll_reloads_a_restarted_run_with_the_same_version_and_file(tmp_path: Path) -> None:
    folder, other = tmp_path / "run", tmp_path / "other"
    _train(folder, seed=0)
    _train(other, seed=1)  # same versions and file names, other weights
    run_octave(f"""
    [p, u1] = sb3.poll([], '{folder}');
    confirm_recursive_rmdir(false);
    rmdir('{folder}', 's');  % the export folder is deleted and training restarts
    copyfile('{other}', '{folder}');
    [q, updated] = sb3.poll(p, '{folder}');
    [q2, again] = sb3.poll(q, '{folder}');
    out = struct('same_version', p.version == q.version, 'updated', updated, 'again', again, ...
                 'differs', ~isequal(sb3.predict(p, [1 0 0]), sb3.predict(q, [1 0 0])));
    {SAVE_JSON}
    """, tmp_path)
    out = _json(tmp_path)
    assert out == {"same_version": True, "updated": True, "again": False, "differs": True}


def test_poll_tells_runs_apart_by_run_id(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    _train(folder, seed=0)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["run_id"] = "run-a"
    for entry in manifest["checkpoints"]:
        entry["run_id"] = "run-a"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    run_octave(f"""
    [p, u1] = sb3.poll([], '{folder}');
    [p, u2] = sb3.poll(p, '{folder}');
    m = jsondecode(fileread('{folder / "manifest.json"}'));
    m.run_id = 'run-b';
    m.checkpoints(end).run_id = 'run-b';
    fid = fopen('{folder / "manifest.json"}', 'w'); fprintf(fid, '%s', jsonencode(m)); fclose(fid);
    [p, u3] = sb3.poll(p, '{folder}');
    out = struct('u1', u1, 'u2', u2, 'u3', u3, 'run_id', p.run_id);
    {SAVE_JSON}
    """, tmp_path)
    assert _json(tmp_path) == {"u1": True, "u2": False, "u3": True, "run_id": "run-b"}


def test_deep_or_huge_manifest_is_refused_without_crashing(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "manifest.json").write_text("[" * 10_000 + "]" * 10_000)
    proc = run_octave(f"""
    try
      sb3.latest('{folder}');
    catch err
      printf('%s\\n', err.identifier);
    end
    try
      sb3.poll([], '{folder}');
    catch err
      printf('%s\\n', err.identifier);
    end
    """, tmp_path, timeout=120)
    assert proc.stdout.split() == ["sb3:latest:badManifest", "sb3:poll:badManifest"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_fifos_never_block_the_reader(tmp_path: Path) -> None:
    good = tmp_path / "good"
    _train(good, seed=0)
    as_manifest = tmp_path / "fifo_manifest"
    as_manifest.mkdir()
    os.mkfifo(as_manifest / "manifest.json")
    as_entry = tmp_path / "fifo_entry"
    shutil.copytree(good, as_entry)
    entry = json.loads((as_entry / "manifest.json").read_text())["checkpoints"][-1]["file"]
    (as_entry / entry).unlink()
    os.mkfifo(as_entry / entry)
    proc = run_octave(f"""
    for f = {{'{as_manifest}', '{as_entry}'}}
      try
        sb3.latest(f{{1}});
      catch err
        printf('%s\\n', err.identifier);
      end
    end
    """, tmp_path, timeout=60)
    assert proc.stdout.split() == ["sb3:latest:badManifest", "sb3:latest:unavailable"]


def test_manifest_format_version_must_be_one(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    _train(folder, seed=0)
    results = []
    for value in ([], [1, 2]):
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["format_version"] = value
        (folder / "manifest.json").write_text(json.dumps(manifest))
        proc = run_octave(f"""
        try
          sb3.latest('{folder}');
        catch err
          printf('%s\\n', err.identifier);
        end
        """, tmp_path, timeout=60)
        results.append(proc.stdout.strip())
    assert results == ["sb3:latest:badManifest"] * 2


# --------------------------------------------------------------------------- parity
def test_18_hidden_layer_mlp_with_vecnormalize_matches_sb3(tmp_path: Path) -> None:
    obs_space, act_space = box(-np.inf, np.inf, (4,)), box(-1.0, 3.0, (2,))
    model = SAC("MlpPolicy", SpaceEnv(obs_space, act_space), buffer_size=10, seed=0, device="cpu",
                policy_kwargs={"net_arch": [16] * 18})
    perturb(model, scale=1.5)
    venv = VecNormalize(DummyVecEnv([lambda: SpaceEnv(obs_space, act_space)]), clip_obs=4.0)
    rng = np.random.default_rng(0)
    venv.obs_rms.mean, venv.obs_rms.var = rng.normal(size=4) * 2, rng.uniform(0.5, 4.0, size=4)
    bundle = export_policy(model, tmp_path / "deep.mat", vec_normalize=venv)
    obs = fresh_observations(obs_space, 30, seed=5)
    expected, _ = model.predict(venv.normalize_obs(obs), deterministic=True)
    [result] = octave_predict_many([PredictCall(bundle, obs.astype(np.float64))], tmp_path / "oct")
    assert "error" not in result, result.get("error")
    np.testing.assert_allclose(result["action"], expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(result["single_row"], expected[:1], atol=1e-5, rtol=0)
    assert result["err"].item() <= 1e-5
    assert not list(ROOT.joinpath("sb3_matlab_callback", "matlab").rglob("*.m")) or all(
        not re.search(r"\b(eval|evalin|str2func)\s*\(", p.read_text())
        for p in ROOT.joinpath("sb3_matlab_callback", "matlab").rglob("*.m"))


DICT_KEYS = ("achieved-goal", "1st", "_private")


def test_dict_keys_that_are_not_matlab_names_keep_parity(tmp_path: Path) -> None:
    assert [matlab_field_name(k) for k in DICT_KEYS] == ["achieved_goal", "x1st", "x_private"]
    space = gym.spaces.Dict({"achieved-goal": box(-1, 1, (2,)), "1st": gym.spaces.Discrete(3),
                             "_private": box(-2, 2, (3,))})
    model = PPO("MultiInputPolicy", SpaceEnv(space, box(-1, 1, (2,))), n_steps=8, batch_size=8,
                seed=0, device="cpu", policy_kwargs={"net_arch": [8]})
    perturb(model)
    bundle = export_policy(model, tmp_path / "dict.mat")
    rng = np.random.default_rng(1)
    obs = {"achieved-goal": rng.uniform(-1, 1, (6, 2)), "1st": rng.integers(0, 3, 6),
           "_private": rng.uniform(-2, 2, (6, 3))}
    expected, _ = model.predict(obs, deterministic=True)
    fields = {matlab_field_name(k): np.asarray(v, np.float64).reshape(6, -1) for k, v in obs.items()}
    [result] = octave_predict_many([PredictCall(bundle, fields)], tmp_path / "oct")
    assert "error" not in result, result.get("error")
    np.testing.assert_allclose(result["action"], expected, atol=1e-5, rtol=0)
    assert result["err"].item() <= 1e-5
    data = scipy.io.loadmat(bundle, simplify_cells=True)
    assert list(data["observation_space"]["keys"]) == list(space.spaces)
    assert list(data["observation_space"]["fields"]) == [matlab_field_name(k) for k in space.spaces]
    assert sorted((i["key"], i["field"]) for i in data["inputs"]) == sorted(
        zip(DICT_KEYS, ["achieved_goal", "x1st", "x_private"], strict=True))


def test_colliding_dict_keys_fail_at_export_naming_both(tmp_path: Path) -> None:
    space = gym.spaces.Dict({"a-b": box(-1, 1, (2,)), "a_b": box(-1, 1, (2,))})
    model = PPO("MultiInputPolicy", SpaceEnv(space, box(-1, 1, (2,))), n_steps=8, batch_size=8,
                device="cpu")
    with pytest.raises(UnsupportedError, match=r"'a-b' and 'a_b' both map .* 'a_b'"):
        export_policy(model, tmp_path / "collide.mat")
    assert not (tmp_path / "collide.mat").exists()


# --------------------------------------------------------------------------- the README's command
def test_readme_closed_loop_command_runs_as_written(tmp_path: Path) -> None:
    exe = require_octave()
    readme = (ROOT / "README.md").read_text()
    [command] = re.findall(r"`(octave-cli --eval \"addpath\('examples/matlab'\); "
                           r"pendulum_closed_loop\('exports/pendulum'[^`]*)`", readme)
    repo = tmp_path / "repo"  # a copy of the repository's example, run from its root
    shutil.copytree(ROOT / "examples", repo / "examples")
    model = tiny_sac(learning_starts=50)
    model.learn(200, callback=MatlabExportCallback(100, repo / "exports" / "pendulum"))
    argv = ["octave-cli" if part == "octave-cli" else part
            for part in re.findall(r'"[^"]*"|\S+', command)]
    argv = [exe, *[a.strip('"') for a in argv[1:]]]
    proc = subprocess.run(argv, cwd=repo, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(re.findall(r"episode \d+: return -?[\d.]+ \(policy version 3\)", proc.stdout)) == 20
