"""sb3.poll's cheap reload of the next checkpoint of the same program (issue #9).

When the new bundle holds the program of the policy in use (same ops, registers, sizes;
new weights), ``sb3.internal.reload_policy`` proves that from the variables themselves and
compiles only what the new values feed. With a map of the last version's file
(``sb3.internal.reload_map``, kept by ``sb3.poll``) it reads the new version straight from
the bytes it hashed, when every byte but the new values is the same; byte-level edits
check both sides of that rule. Checked in real Octave against SB3's own
``predict()`` of the *new* weights, and against a full ``sb3.load_policy`` of the same
file (every compiled field equal). Bundles that keep the ``fingerprint`` text but change
the program are never reused: they take the full checks, which refuse the broken ones
with ``sb3:load_policy:corrupt``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io
import torch
from delivery_helpers import Moments
from envs import SMALL_BOX as BOX
from envs import SMALL_MODELS, SpaceEnv, small_net
from envs import SMALL_OBS as OBS
from octave import run_octave
from stable_baselines3 import SAC
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from sb3_matlab_callback import MatlabExportCallback, export_policy

pytestmark = pytest.mark.octave

MODELS = {k: v for k, v in SMALL_MODELS.items() if k != "sac-symmetric"}
CASES = [*MODELS, "sac-vecnormalize"]


def _fields(path: Path) -> dict[str, Any]:
    return {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}


def _record(fields: dict[str, Any]) -> np.ndarray:
    """A 1x1 MATLAB struct (numpy record) with ``fields``, in this order."""
    out = np.empty((1, 1), dtype=[(name, object) for name in fields])
    for name, value in fields.items():
        out[0, 0][name] = value
    return out


def _edit_op(index: int, edit) -> Any:
    """A mutation of op ``index`` (0-based): ``edit`` maps its fields to new ones."""
    def change(data: dict[str, Any]) -> None:
        op = data["ops"][0, index][0, 0]
        data["ops"][0, index] = _record(edit({n: op[n] for n in op.dtype.names}))
    return change


def _swap_registers(fields: dict[str, Any]) -> dict[str, Any]:
    # The same values in the same places, under swapped names: inputs <-> output.
    return {"inputs" if n == "output" else "output" if n == "inputs" else n: v
            for n, v in fields.items()}


#: Mutations of the new bundle that keep its fingerprint text: name -> (change, reused,
#: error ID of the full load or "ok").
HOSTILE = {
    "unchanged": (lambda d: None, True, "ok"),
    "op_renamed": (_edit_op(1, lambda f: {**f, "op": np.array(["tanh"])}), False, "ok"),
    "register_out_of_range": (_edit_op(1, lambda f: {**f, "inputs": np.array([[99.0]])}), False,
                              "sb3:load_policy:corrupt"),
    "bias_shortened": (_edit_op(0, lambda f: {**f, "bias": f["bias"][:, :-1]}), False,
                       "sb3:load_policy:corrupt"),
    "registers_swapped": (_edit_op(0, _swap_registers), False, "sb3:load_policy:corrupt"),
    "weight_as_text": (_edit_op(2, lambda f: {**f, "weight": np.array(["x" * 16] * 16)}), False,
                       "sb3:load_policy:corrupt"),
    "num_registers_changed": (lambda d: d.__setitem__("num_registers", np.array([[3.0]])), False,
                              "sb3:load_policy:corrupt"),
}


def _perturb(model: Any, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.policy.parameters():
            param.add_(0.3 * torch.randn(param.shape, generator=generator))


@pytest.fixture(scope="module")
def reloads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Export v1, change the weights (and VecNormalize statistics), export v2; reload in Octave."""
    tmp = tmp_path_factory.mktemp("hot_reload")
    obs = np.random.default_rng(3).uniform(-2, 2, (6, 3)).astype(np.float32)
    scipy.io.savemat(tmp / "obs.mat", {"X": obs.astype(np.float64)})
    expected: dict[str, np.ndarray] = {}
    expected_v1: dict[str, np.ndarray] = {}
    for name in CASES:
        model = MODELS[name.removesuffix("-vecnormalize")]()
        venv = None
        if name.endswith("-vecnormalize"):
            venv = VecNormalize(DummyVecEnv([lambda: SpaceEnv(OBS, BOX)]), gamma=0.99)
            venv.obs_rms.mean, venv.obs_rms.var = np.array([0.3, -0.2, 0.1]), np.array([0.5, 2.0, 1.5])
        export_policy(model, tmp / f"{name}_v1.mat", vec_normalize=venv)
        seen = venv.normalize_obs(obs) if venv is not None else obs
        expected_v1[name] = np.asarray(model.predict(seen, deterministic=True)[0],
                                       np.float64).reshape(6, -1)
        _perturb(model, seed=len(name))
        if venv is not None:
            venv.obs_rms.mean, venv.obs_rms.var = np.array([-0.1, 0.4, 0.0]), np.array([1.5, 0.7, 3.0])
        export_policy(model, tmp / f"{name}_v2.mat", vec_normalize=venv)
        seen = venv.normalize_obs(obs) if venv is not None else obs
        expected[name] = np.asarray(model.predict(seen, deterministic=True)[0], np.float64).reshape(6, -1)
    good = _fields(tmp / "sac_v2.mat")
    for case, (change, _, _) in HOSTILE.items():
        data = _fields(tmp / "sac_v2.mat")
        change(data)
        assert data["fingerprint"] == good["fingerprint"]
        scipy.io.savemat(tmp / f"hostile_{case}.mat", data, long_field_names=True)
    script = """
    d = load('obs.mat');
    out = struct();
    function bytes = file_bytes(path)
      fid = fopen(path, 'r');
      bytes = fread(fid, Inf, '*int8');
      fclose(fid);
    end
    function out = by_map(old, bytes, prec, q)
      % A reload from BYTES alone (the path does not exist: load cannot run), as sb3.poll
      % does with the bytes it hashed; compared with the full load Q of the same bytes.
      out = struct('mapped', false, 'same', false, 'id', 'ok');
      try
        r = sb3.internal.reload_policy('/nonexistent/bundle.mat', old, prec, bytes);
        out.mapped = ~isempty(r);
        r.path = q.path;
        r.skeleton.map = q.skeleton.map;
        out.same = same_policy(r, q);
      catch e
        out.id = e.identifier;
      end
    end
    function same = same_policy(r, q)
      % Every field of the reused policy equals the full load's; handles by their results.
      same = isequal(sort(fieldnames(r)), sort(fieldnames(q)));
      names = fieldnames(q);
      for j = 1:numel(names)
        a = r.(names{j});
        b = q.(names{j});
        if isa(b, 'function_handle')
          x = [0.1 -0.2 0.3; 1 2 -1];
          if strcmp(names{j}, 'fast_fn')
            x = x(1, :);  % the row handle takes one row
          end
          same = same && isequal(a(x), b(x));
        elseif ~isequaln(a, b)
          same = false;
        end
      end
    end
    """
    for name in CASES:
        for prec in ("single", "double"):
            key = f"{name.replace('-', '_')}_{prec}"
            script += f"""
    p = sb3.load_policy('{tmp}/{name}_v1.mat', 'Precision', '{prec}');
    r = sb3.internal.reload_policy('{tmp}/{name}_v2.mat', p, '{prec}');
    q = sb3.load_policy('{tmp}/{name}_v2.mat', 'Precision', '{prec}');
    out.{key} = struct('reused', ~isempty(r), 'same', ~isempty(r) && same_policy(r, q), ...
                       'action', [], 'fused', ~isempty(q.fast_fn), 'version', 0);
    p.skeleton.map = sb3.internal.reload_map(p.skeleton.S, file_bytes('{tmp}/{name}_v1.mat'));
    out.{key}.has_map = ~isempty(p.skeleton.map);
    out.{key}.map = by_map(p, file_bytes('{tmp}/{name}_v2.mat'), '{prec}', q);
    if ~isempty(r)
      out.{key}.action = sb3.predict(r, d.X);
      out.{key}.single = sb3.predict(r, d.X(1, :));
      out.{key}.version = r.version;
      out.{key}.err = sb3.verify(r);
    end
    """
    for case in HOSTILE:
        script += f"""
    p = sb3.load_policy('{tmp}/sac_v1.mat');
    r = sb3.internal.reload_policy('{tmp}/hostile_{case}.mat', p, 'single');
    id = 'ok';
    try
      sb3.load_policy('{tmp}/hostile_{case}.mat');
    catch e
      id = e.identifier;
    end
    out.hostile_{case} = struct('reused', ~isempty(r), 'id', id);
    """
    # Byte-level changes of v2 against v1's map: new values are read from the bytes, any
    # other changed byte (a name, a size, a number) refuses the map, the header text is free.
    script += f"""
    p = sb3.load_policy('{tmp}/sac_v1.mat');
    p.skeleton.map = sb3.internal.reload_map(p.skeleton.S, file_bytes('{tmp}/sac_v1.mat'));
    b = file_bytes('{tmp}/sac_v2.mat');
    m = p.skeleton.map;
    edits = struct('name', {{'weight_byte', 'fixed_byte', 'header_text', 'truncated', 'longer', ...
                             'text_not_ascii'}});
    for j = 1:numel(edits)
      c = b;
      switch edits(j).name
        case 'weight_byte'
          i = find(m.kind == 1 & (m.stop - m.start) > 16, 1);
          c(m.start(i) + 5) = bitxor(c(m.start(i) + 5), int8(17));
        case 'fixed_byte'
          i = m.fixed(end - 40);
          c(i) = bitxor(c(i), int8(1));
        case 'header_text'
          c(30) = int8('Q');
        case 'truncated'
          c = c(1:end - 8);
        case 'text_not_ascii'  % a changing text (the creation time) with a UTF-8 byte
          i = find(m.kind == 3, 1);
          c(m.start(i)) = int8(-61);
        otherwise
          c = [c; zeros(8, 1, 'int8')];
      end
      fid = fopen('edited.mat', 'w'); fwrite(fid, c, 'int8'); fclose(fid);
      try
        q = sb3.load_policy('edited.mat');
      catch
        q = sb3.load_policy('{tmp}/sac_v2.mat');  % for the comparison only: no map is taken
      end
      out.(['bytes_' edits(j).name]) = by_map(p, c, 'single', q);
    end
    """
    script += "fid = fopen('out.json', 'w'); fputs(fid, jsonencode(out)); fclose(fid);\n"
    run_octave(script, tmp)
    return {"out": json.loads((tmp / "out.json").read_text()), "expected": expected,
            "expected_v1": expected_v1}


@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("name", CASES)
def test_same_program_reload_gives_sb3_actions_of_the_new_weights(reloads, name: str,
                                                                 precision: str) -> None:
    result = reloads["out"][f"{name.replace('-', '_')}_{precision}"]
    assert result["reused"], "the same program must take the cheap reload"
    assert result["same"], "the reused policy must equal sb3.load_policy's, field by field"
    expected = reloads["expected"][name]
    atol = 2e-5 if precision == "single" else 1e-6
    np.testing.assert_allclose(np.reshape(result["action"], expected.shape), expected, atol=atol, rtol=0)
    np.testing.assert_allclose(np.ravel(result["single"]), expected[0], atol=atol, rtol=0)
    assert result["err"] <= 1e-4  # the new bundle's own reference, replayed


@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("name", CASES)
def test_reload_from_the_hashed_bytes_equals_a_full_load(reloads, name: str, precision: str) -> None:
    """With a map of v1's file, v2 is read from its bytes alone (no load: the path given does
    not exist), and the policy equals sb3.load_policy's of v2, field by field."""
    result = reloads["out"][f"{name.replace('-', '_')}_{precision}"]
    assert result["has_map"]
    assert result["map"] == {"mapped": True, "same": True, "id": "ok"}


@pytest.mark.parametrize(("edit", "mapped"), [("weight_byte", True), ("fixed_byte", False),
                                              ("header_text", True), ("truncated", False),
                                              ("longer", False), ("text_not_ascii", False)])
def test_the_map_reads_new_values_and_refuses_any_other_change(reloads, edit: str,
                                                               mapped: bool) -> None:
    result = reloads["out"][f"bytes_{edit}"]
    if mapped:  # read from the bytes, and equal to a full load of the edited file
        assert result == {"mapped": True, "same": True, "id": "ok"}
    else:  # not the same element tree: the fallback load finds no file at the path given
        assert result["mapped"] is False and result["id"] == "sb3:load_policy:corrupt"


@pytest.mark.parametrize("name", CASES)
def test_the_new_version_acts_differently(reloads, name: str) -> None:
    # Guards the test above: matching SB3 on v2 proves the new weights are in use only if
    # v1 acts differently on the same observations.
    assert not np.allclose(reloads["expected_v1"][name], reloads["expected"][name])


@pytest.mark.parametrize("case", list(HOSTILE))
def test_same_fingerprint_other_program_is_never_reused(reloads, case: str) -> None:
    _, reused, error_id = HOSTILE[case]
    result = reloads["out"][f"hostile_{case}"]
    assert result["reused"] == reused
    assert result["id"] == error_id


def test_poll_reloads_each_new_version_of_a_training_run_cheaply(tmp_path: Path) -> None:
    """Octave polls through a real SAC run's versions: each reload is the cheap one and acts
    as SB3 did at that version's export."""
    model = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs=small_net(), learning_starts=20, seed=0,
                device="cpu")
    obs = np.random.default_rng(5).uniform(-3, 3, (8, 3)).astype(np.float32)
    moments = Moments(60, obs)
    folder = tmp_path / "run"
    model.learn(240, callback=CallbackList([MatlabExportCallback(60, folder), moments]))
    manifest = json.loads((folder / "manifest.json").read_text())
    entries = manifest["checkpoints"]
    assert len(entries) >= 3
    scipy.io.savemat(tmp_path / "obs.mat", {"X": obs.astype(np.float64)})
    # One manifest per version, as the run committed them: the poll sees each in turn.
    for k in range(1, len(entries) + 1):
        (tmp_path / f"manifest_{k}.json").write_text(json.dumps({**manifest,
                                                                 "checkpoints": entries[:k],
                                                                 "latest": entries[k - 1]["version"]}))
    run_octave(f"""
    d = load('obs.mat');
    out = struct('versions', [], 'reused', [], 'mapped', [], 'actions', {{{{}}}});
    policy = [];
    for k = 1:{len(entries)}
      copyfile(sprintf('manifest_%d.json', k), '{folder}/manifest.json');
      old = policy;
      [policy, updated] = sb3.poll(policy, '{folder}');
      assert(updated);
      reused = false;
      mapped = false;
      if ~isempty(old)
        reused = ~isempty(sb3.internal.reload_policy(policy.path, old, old.precision));
        % poll keeps a map of each version's bytes: the next one is read without load.
        fid = fopen(policy.path, 'r'); bytes = fread(fid, Inf, '*int8'); fclose(fid);
        mapped = ~isempty(old.skeleton.map) && ~isempty(sb3.internal.reload_policy( ...
          '/nonexistent/bundle.mat', old, old.precision, bytes));
      end
      out.versions(end + 1) = policy.version;
      out.reused(end + 1) = reused;
      out.mapped(end + 1) = mapped;
      out.actions{{end + 1}} = sb3.predict(policy, d.X);
    end
    fid = fopen('out.json', 'w'); fputs(fid, jsonencode(out)); fclose(fid);
    """, tmp_path)
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["versions"] == [e["version"] for e in entries]
    assert out["reused"] == [False] + [True] * (len(entries) - 1)
    assert out["mapped"] == [False] + [True] * (len(entries) - 1)
    weights_moved = False
    for entry, actions in zip(entries, out["actions"], strict=True):
        expected = moments.expected[entry["num_timesteps"], entry["trigger"]].reshape(len(obs), -1)
        np.testing.assert_allclose(np.reshape(actions, expected.shape), expected, atol=2e-5, rtol=0)
        first = moments.expected[entries[0]["num_timesteps"], entries[0]["trigger"]]
        weights_moved |= not np.allclose(expected, first.reshape(expected.shape))
    assert weights_moved, "the run must have trained between exports"
