"""Parity in Octave against SB3's own predict() for every cell of the issue-#4 matrix.

Each case of :data:`matrix.CASES` is exported, then one Octave process runs them all:
``sb3.verify`` on the embedded reference, a batch of fresh observations, the first
observation alone in its own shape (row vector, H-by-W-by-C image, struct of fields),
images in the other channel layout, MaskablePPO with random 'ActionMasks', and
RecurrentPPO over multi-step sequences carrying 'State' with 'EpisodeStart' resets.
Box actions must match within 1e-5 per unit of action magnitude (the bundle's own
``sb3.verify`` tolerance: SB3 computes in float32), discrete actions exactly.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import scipy.io
from matrix import CASES, Case
from octave import run_octave
from parity_helpers import atol_for as _atol
from parity_helpers import for_matlab, fresh, masks_for
from parity_helpers import vec_normalize_for as _vec_normalize
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.vec_env import VecNormalize

from sb3_matlab_callback import export_policy

pytestmark = pytest.mark.octave
N = 12  # observations per batch
STEPS = 6  # recurrent sequence length
ATOL = 1e-5

FIRST_OBS = """function o = first_obs(obs)
%FIRST_OBS The first observation of a batch, in the observation's own shape.
if isstruct(obs)
  o = struct();
  names = fieldnames(obs);
  for k = 1:numel(names)
    o.(names{k}) = first_obs(obs.(names{k}));
  end
  return;
end
sz = size(obs);
if numel(sz) > 2
  o = reshape(obs(1, :), sz(2:end));
else
  o = obs(1, :);
end
end
"""


# --------------------------------------------------------------------------- observations


def other_layout(obs: Any, space: gym.Space) -> Any:
    """Images in the other channel layout (HWC <-> CHW), which SB3 accepts too; else None."""
    if isinstance(space, gym.spaces.Dict):
        swapped = {key: other_layout(value, space[key]) for key, value in obs.items()}
        if all(value is None for value in swapped.values()):
            return None
        return {key: obs[key] if value is None else value for key, value in swapped.items()}
    if not is_image_space(space):
        return None
    channel_last = space.shape[-1] < space.shape[0]
    return obs.transpose(0, 3, 1, 2) if channel_last else obs.transpose(0, 2, 3, 1)


def _rows(actions: Any, n: int) -> np.ndarray:
    return np.asarray(actions, dtype=np.float64).reshape(n, -1)


# --------------------------------------------------------------------------- SB3 side
def _sb3_plain(model: Any, case: Case, rng: np.random.Generator, data: dict,
               venv: VecNormalize | None) -> dict[str, Any]:
    obs = fresh(case.obs_space, rng, N)
    data["obs"] = for_matlab(obs)
    alt = other_layout(obs, case.obs_space)
    if alt is not None:
        data["alt"] = for_matlab(alt)
    sb3_obs = venv.normalize_obs(obs) if venv is not None else obs
    kwargs: dict[str, Any] = {}
    if case.kind == "masked":
        data["masks"] = kwargs["action_masks"] = masks_for(model, rng, N)
    actions, _ = model.predict(sb3_obs, deterministic=True, **kwargs)
    return {"action": _rows(actions, N)}


def _sb3_recurrent(model: Any, case: Case, rng: np.random.Generator, data: dict
                   ) -> dict[str, Any]:
    """A batch sequence (3 envs) and a single-env sequence, carrying SB3's state."""
    n = 3
    starts = rng.random((STEPS, n)) < 0.3
    starts[0] = True
    expected: dict[str, Any] = {"seq": [], "single_seq": []}
    state = None
    for t in range(STEPS):
        obs = fresh(case.obs_space, rng, n)
        data[f"obs{t + 1}"] = for_matlab(obs)
        actions, state = model.predict(obs, state=state, episode_start=starts[t],
                                       deterministic=True)
        expected["seq"].append(_rows(actions, n))
    expected["h"], expected["c"] = state
    data["starts"] = starts.astype(np.float64)
    single_state = None
    for t in range(STEPS):
        obs = fresh(case.obs_space, rng, 1)
        data[f"one{t + 1}"] = for_matlab(obs)
        single = {k: v[0] for k, v in obs.items()} if isinstance(obs, dict) else obs[0]
        action, single_state = model.predict(single, state=single_state,
                                             episode_start=np.array([t == 3]),
                                             deterministic=True)
        expected["single_seq"].append(_rows(action, 1))
    return expected


# --------------------------------------------------------------------------- Octave side
def _block(index: int, case: Case, has_alt: bool) -> str:
    masks = ", 'ActionMasks', d.masks(1, :)" if case.kind == "masked" else ""
    batch_masks = ", 'ActionMasks', logical(d.masks)" if case.kind == "masked" else ""
    if case.kind == "recurrent":
        body = f"""
  state = [];
  r.seq = [];
  for t = 1:{STEPS}
    [a, state] = sb3.predict(p, d.(sprintf('obs%d', t)), 'State', state, ...
                             'EpisodeStart', logical(d.starts(t, :)));
    r.seq = cat(3, r.seq, a);
  end
  r.h = state.h;
  r.c = state.c;
  s1 = [];
  r.single_seq = [];
  for t = 1:{STEPS}
    [a, s1] = sb3.predict(p, first_obs(d.(sprintf('one%d', t))), 'State', s1, ...
                          'EpisodeStart', t == 4);
    r.single_seq = cat(3, r.single_seq, a);
  end"""
    else:
        alt = f"\n  r.alt = sb3.predict(p, d.alt{batch_masks});" if has_alt else ""
        body = f"""
  r.action = sb3.predict(p, d.obs{batch_masks});
  r.single = sb3.predict(p, first_obs(d.obs){masks});{alt}"""
    return f"""
r = struct();
try
  d = load('in_{index}.mat');
  p = sb3.load_policy(d.bundle);
  r.err = sb3.verify(p);{body}
catch e
  r.error = [e.identifier ': ' e.message];
end
save('-v7', 'out_{index}.mat', '-struct', 'r');
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("matrix")
    work = tmp / "octave"
    work.mkdir()
    (work / "first_obs.m").write_text(FIRST_OBS)
    blocks, expected = [], {}
    for index, case in enumerate(CASES):
        model = case.build()
        venv = _vec_normalize(case) if case.vec_normalize else None
        bundle = export_policy(model, tmp / f"{case.name}.mat", vec_normalize=venv)
        rng = np.random.default_rng(1000 + index)
        data: dict[str, Any] = {"bundle": str(bundle)}
        if case.kind == "recurrent":
            expected[case.name] = _sb3_recurrent(model, case, rng, data)
        else:
            expected[case.name] = _sb3_plain(model, case, rng, data, venv)
        scipy.io.savemat(work / f"in_{index}.mat", data, long_field_names=True)
        blocks.append(_block(index, case, "alt" in data))
    run_octave("\n".join(blocks), work)
    out = {}
    for index, case in enumerate(CASES):
        res = scipy.io.loadmat(work / f"out_{index}.mat", simplify_cells=True)
        out[case.name] = {"expected": expected[case.name], **res}
    return out


def _same(got: Any, want: np.ndarray, case: Case) -> None:
    got = np.asarray(got, dtype=np.float64).reshape(want.shape)
    if case.action == "Box":
        np.testing.assert_allclose(got, want, atol=_atol(want), rtol=0)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_octave_matches_sb3_predict(results: dict[str, dict[str, Any]], case: Case) -> None:
    res = results[case.name]
    assert "error" not in res, res["error"]
    want = res["expected"]
    scale = want["seq"][0] if case.kind == "recurrent" else want["action"]
    assert float(res["err"]) <= (_atol(scale) if case.action == "Box" else 0)
    if case.kind == "recurrent":
        seq = np.asarray(res["seq"], dtype=np.float64).reshape(3, -1, STEPS)
        for t in range(STEPS):
            _same(seq[:, :, t], want["seq"][t], case)
        # The state SB3 returns, (h, c) as n_layers x N x hidden. Gate pre-activations reach
        # ~100 in these random nets, where float32 itself is only good to ~1e-5.
        n_layers, hidden = want["h"].shape[0], want["h"].shape[2]
        for key in ("h", "c"):
            np.testing.assert_allclose(np.reshape(res[key], (n_layers, 3, hidden)), want[key],
                                       atol=1e-4, rtol=0)
        single = np.asarray(res["single_seq"], dtype=np.float64).reshape(1, -1, STEPS)
        for t in range(STEPS):
            _same(single[:, :, t], want["single_seq"][t], case)
        return
    _same(res["action"], want["action"], case)
    _same(res["single"], want["action"][:1], case)
    if "alt" in res:
        _same(res["alt"], want["action"], case)


def test_matrix_is_complete() -> None:
    """Every algorithm meets every observation column and each of its action spaces."""
    from matrix import ALGORITHMS, NOT_APPLICABLE, OBS_COLUMNS

    cells = {(c.algo, c.column) for c in CASES}
    for algo in ALGORITHMS:
        if algo == "HER":
            assert (algo, "Dict") in cells
            continue
        for column in OBS_COLUMNS:
            assert ((algo, column) in cells) != ((algo, column) in NOT_APPLICABLE), (algo, column)
    actions = {(c.algo, c.action) for c in CASES}
    for algo in ("A2C", "PPO", "TRPO", "RecurrentPPO"):
        for action in ("Box", "Discrete", "MultiDiscrete", "MultiBinary"):
            assert (algo, action) in actions
    assert ("MaskablePPO", "MultiBinary") in actions and ("ARS", "Discrete") in actions
    kinds = {c.kind for c in CASES}
    assert kinds == {"plain", "masked", "recurrent"}

