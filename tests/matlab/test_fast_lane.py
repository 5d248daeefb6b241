"""sb3.predict's fast lane (issue #7): the same actions as SB3, in every shape it takes.

For SB3's default network shapes (two hidden layers: SAC/TD3 squashed, PPO clipped, PPO
and DQN argmax, with and without VecNormalize) in both precisions, Octave's
``sb3.predict`` must match SB3's ``predict()`` for one observation as a double row, a
single row, a column, and for a batch, and the lane must really be taken (a single
anonymous function for networks without VecNormalize). Inputs the lane must refuse
(a scalar, a wider row, a sparse row, ...) still raise the checked path's errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io
from envs import SMALL_BOX as BOX
from envs import SMALL_MODELS, SpaceEnv
from envs import SMALL_OBS as OBS
from octave import run_octave
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from sb3_matlab_callback import export_policy

MODELS = SMALL_MODELS
CASES = [*MODELS, "sac-vecnormalize"]


def _export(name: str, folder: Path) -> tuple[Path, Any, VecNormalize | None]:
    model = MODELS[name.removesuffix("-vecnormalize")]()
    venv = None
    if name.endswith("-vecnormalize"):
        venv = VecNormalize(DummyVecEnv([lambda: SpaceEnv(OBS, BOX)]), gamma=0.99)
        venv.obs_rms.mean = np.array([0.3, -0.2, 0.1])
        venv.obs_rms.var = np.array([0.5, 2.0, 1.5])
    return export_policy(model, folder / f"{name}.mat", vec_normalize=venv), model, venv


@pytest.fixture(scope="module")
def lane(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("fast_lane")
    rng = np.random.default_rng(7)
    expected, blocks = {}, []
    for index, name in enumerate(CASES):
        bundle, model, venv = _export(name, tmp)
        obs = rng.uniform(-2, 2, (6, 3)).astype(np.float32)
        seen = venv.normalize_obs(obs) if venv is not None else obs
        actions, _ = model.predict(seen, deterministic=True)
        expected[name] = np.asarray(actions, dtype=np.float64).reshape(6, -1)
        scipy.io.savemat(tmp / f"obs_{index}.mat", {"X": obs.astype(np.float64)})
        blocks.append(f"""
d = load('obs_{index}.mat');
for prec = {{'single', 'double'}}
  p = sb3.load_policy('{bundle}', 'Precision', prec{{1}});
  r = struct('fused', ~isempty(p.fast_fn), 'one_handle', isempty(strfind(func2str(p.fast_fn), 'g (')));
  r.row = sb3.predict(p, d.X(1, :));
  r.single_row = sb3.predict(p, single(d.X(1, :)));
  r.column = sb3.predict(p, d.X(1, :).');
  r.batch = sb3.predict(p, d.X);
  r.class = class(r.row);
  q = p;
  q.fast_fn = @(x) zeros(size(x, 1), 1) + 42;  % marks the calls the lane takes
  r.lane_row = isequal(sb3.predict(q, d.X(1, :)), 42);
  r.lane_batch = isequal(sb3.predict(q, d.X), 42 + zeros(6, 1));
  r.lane_column = isequal(sb3.predict(q, d.X(1, :).'), 42);
  errs = {{}};
  for bad = {{[NaN 0 0], [0 Inf 0], [1e300 0 0], '123', [1 2 3i], sparse([1 0 1]), [1 2], ...
             ones(2, 3, 2), 0.5, [1 2 3 4]}}
    try
      sb3.predict(p, bad{{1}});
      errs{{end + 1}} = 'none';
    catch e
      errs{{end + 1}} = e.identifier;
    end
  end
  r.errors = errs;
  out.(['{name.replace('-', '_')}_' prec{{1}}]) = r;
end""")
    script = "out = struct();\n" + "\n".join(blocks) + "\nfid = fopen('out.json', 'w'); " \
        "fprintf(fid, '%s', jsonencode(out)); fclose(fid);"
    run_octave(script, tmp, timeout=900)
    return {"expected": expected, "out": json.loads((tmp / "out.json").read_text())}


@pytest.mark.octave
@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("name", CASES)
def test_fast_lane_matches_sb3_predict(lane: dict[str, Any], name: str, precision: str) -> None:
    r = lane["out"][f"{name.replace('-', '_')}_{precision}"]
    want = lane["expected"][name]
    assert r["fused"] and r["class"] == "double"
    assert r["lane_row"] and r["lane_batch"], "rows and batches take the fast lane"
    assert not r["lane_column"], "a column goes to the checked path"
    assert r["one_handle"] == (not name.endswith("vecnormalize")), "one anonymous function"
    discrete = name.endswith(("discrete", "dqn"))
    for key, rows in (("row", want[:1]), ("single_row", want[:1]), ("column", want[:1]),
                      ("batch", want)):
        got = np.asarray(r[key], dtype=np.float64).reshape(rows.shape)
        if discrete:
            np.testing.assert_array_equal(got, rows, err_msg=key)
        else:
            np.testing.assert_allclose(got, rows, atol=1e-5, rtol=0, err_msg=key)


@pytest.mark.octave
@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("name", CASES)
def test_fast_lane_refuses_what_the_checked_path_rejects(lane: dict[str, Any], name: str,
                                                         precision: str) -> None:
    errors = lane["out"][f"{name.replace('-', '_')}_{precision}"]["errors"]
    value, kind, size = "sb3:predict:badObsValue", "sb3:predict:badObsType", "sb3:predict:badObsSize"
    # 0.5: a scalar would broadcast through the layers; the lane's handles refuse it.
    assert errors == [value, value, "none", kind, kind, kind, size, size, size, size]
