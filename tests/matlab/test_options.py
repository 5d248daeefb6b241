"""sb3.predict's 'ActionMasks', 'State', 'EpisodeStart' and image inputs in Octave.

Errors with their IDs, sampling under masks, DQN's epsilon-greedy exploration and the
recurrent state's shape; everything in one Octave process.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import scipy.io
from custom_cnn import IMAGE, custom_cnn_model
from envs import SpaceEnv, box, perturb
from octave import run_octave
from sb3_contrib import MaskablePPO, RecurrentPPO
from stable_baselines3 import DQN, PPO

from sb3_matlab_callback import export_policy

pytestmark = pytest.mark.octave
OBS = box(-1.0, 1.0, shape=(3,))
SAMPLES = 2000


def _bundles(tmp: Path) -> dict[str, Any]:
    small = {"net_arch": [8]}
    maskable = MaskablePPO("MlpPolicy", SpaceEnv(OBS, gym.spaces.Discrete(4)), n_steps=8,
                           batch_size=8, policy_kwargs=small, seed=0)
    recurrent = RecurrentPPO("MlpLstmPolicy", SpaceEnv(OBS, box(-1.0, 1.0, (2,))), n_steps=8,
                             batch_size=8, seed=0,
                             policy_kwargs={**small, "lstm_hidden_size": 5, "n_lstm_layers": 2})
    greedy = DQN("MlpPolicy", SpaceEnv(OBS, gym.spaces.Discrete(5)), buffer_size=10, seed=0,
                 policy_kwargs=small)
    exploring = DQN("MlpPolicy", SpaceEnv(OBS, gym.spaces.Discrete(5)), buffer_size=10,
                    seed=0, policy_kwargs=small)
    exploring.exploration_rate = 1.0
    image = PPO("CnnPolicy", SpaceEnv(IMAGE, gym.spaces.Discrete(3)), n_steps=8, batch_size=8,
                policy_kwargs={**small, "features_extractor_kwargs": {"features_dim": 8}})
    models = {"maskable": maskable, "recurrent": recurrent, "greedy": greedy,
              "exploring": exploring, "image": image, "custom_cnn": custom_cnn_model()}
    for name, model in models.items():
        perturb(model)
        export_policy(model, tmp / f"{name}.mat")
    return models


ERRORS = {
    "mask-size": ("p = sb3.load_policy('maskable.mat'); "
                  "sb3.predict(p, zeros(2, 3), 'ActionMasks', true(1, 4));",
                  "sb3:predict:badActionMasks", r"must be 2-by-4 logical.*got \[1 4\]"),
    "mask-not-maskable": ("p = sb3.load_policy('greedy.mat'); "
                          "sb3.predict(p, zeros(1, 3), 'ActionMasks', true(1, 5));",
                          "sb3:predict:badOption", r"MaskablePPO policies only; this is DQN"),
    "state-size": ("p = sb3.load_policy('recurrent.mat'); "
                   "sb3.predict(p, zeros(2, 3), 'State', struct('h', zeros(2, 1, 5), "
                   "'c', zeros(2, 1, 5)));",
                   "sb3:predict:badState", r"2-by-2-by-5 \(num_layers-by-N-by-hidden_size\)"),
    "state-type": ("p = sb3.load_policy('recurrent.mat'); "
                   "sb3.predict(p, zeros(1, 3), 'State', {zeros(2, 1, 5)});",
                   "sb3:predict:badState", r"struct with fields h and c"),
    "episode-start": ("p = sb3.load_policy('recurrent.mat'); "
                      "sb3.predict(p, zeros(2, 3), 'EpisodeStart', [true false true]);",
                      "sb3:predict:badState", r"one element per observation \(2\)"),
    "image-size": ("p = sb3.load_policy('image.mat'); sb3.predict(p, zeros(36, 35, 3));",
                   "sb3:predict:badObsSize",
                   r"size \[36 35 3\]; expected one image \[36 36 3\] \(HWC\).*\[3 36 36\]"),
    "image-batch": ("p = sb3.load_policy('image.mat'); sb3.predict(p, zeros(2, 36, 36, 4));",
                    "sb3:predict:badObsSize", r"size \[2 36 36 4\]"),
}

CHECKS = f"""
p = sb3.load_policy('maskable.mat');
obs = [0.2 -0.4 0.6];
masks = logical([0 1 0 1]);
r.masked_samples = zeros({SAMPLES}, 1);
for k = 1:{SAMPLES}
  r.masked_samples(k) = sb3.predict(p, obs, 'ActionMasks', masks, 'Deterministic', false);
end
r.masked_det = sb3.predict(p, repmat(obs, 3, 1), 'ActionMasks', [masks; masks; ~masks]);
[r.plain, r.plain_state] = sb3.predict(p, obs);
p = sb3.load_policy('exploring.mat');
r.explore = zeros({SAMPLES}, 1);
for k = 1:{SAMPLES}
  r.explore(k) = sb3.predict(p, obs, 'Deterministic', false);
end
p = sb3.load_policy('greedy.mat');
r.greedy_det = sb3.predict(p, obs);
r.greedy_sto = sb3.predict(p, obs, 'Deterministic', false);
p = sb3.load_policy('recurrent.mat');
[r.rec_action, s] = sb3.predict(p, obs, 'Deterministic', false);
r.rec_h_size = size(s.h);
[~, s2] = sb3.predict(p, obs, 'State', s, 'EpisodeStart', true);
[~, s0] = sb3.predict(p, obs);
r.reset_same = isequal(s2.h, s0.h) && isequal(s2.c, s0.c);
[~, s3] = sb3.predict(p, obs, 'State', s, 'EpisodeStart', false);
r.carried_differs = ~isequal(s3.h, s0.h);
p = sb3.load_policy('recurrent.mat', 'Precision', 'double');
r.rec_double_err = sb3.verify(p);
p = sb3.load_policy('custom_cnn.mat');
r.custom_cnn_err = sb3.verify(p);
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("options")
    models = _bundles(tmp)
    script = ["ids = {}; msgs = {};"]
    for name, (code, _, _) in ERRORS.items():
        script.append(f"try\n  {code}\n  ids{{end+1}} = 'none'; msgs{{end+1}} = '{name}';\n"
                      f"catch e\n  ids{{end+1}} = e.identifier; msgs{{end+1}} = e.message;\nend")
    script.append("r = struct(); r.ids = ids; r.msgs = msgs;")
    script.append(CHECKS)
    script.append("save('-v7', 'out.mat', '-struct', 'r');")
    run_octave("\n".join(script), tmp)
    out = scipy.io.loadmat(tmp / "out.mat", simplify_cells=True)
    out["models"] = models
    return out


@pytest.mark.parametrize("case", list(ERRORS))
def test_option_errors(outcomes: dict[str, Any], case: str) -> None:
    index = list(ERRORS).index(case)
    identifier, message = outcomes["ids"][index], outcomes["msgs"][index]
    assert identifier == ERRORS[case][1], message
    assert re.search(ERRORS[case][2], message), message


def test_sampling_never_picks_a_masked_action(outcomes: dict[str, Any]) -> None:
    samples = outcomes["masked_samples"]
    assert set(np.unique(samples)) == {1.0, 3.0}


def test_deterministic_masks_per_row(outcomes: dict[str, Any]) -> None:
    model = outcomes["models"]["maskable"]
    obs = np.tile(np.array([0.2, -0.4, 0.6], dtype=np.float32), (3, 1))
    masks = np.array([[0, 1, 0, 1], [0, 1, 0, 1], [1, 0, 1, 0]], dtype=bool)
    expected, _ = model.predict(obs, action_masks=masks, deterministic=True)
    np.testing.assert_array_equal(np.ravel(outcomes["masked_det"]), expected)
    assert np.size(outcomes["plain_state"]) == 0  # not recurrent: State comes back as given


def test_dqn_explores_like_dqn_predict(outcomes: dict[str, Any]) -> None:
    counts = np.bincount(outcomes["explore"].astype(int), minlength=5) / SAMPLES
    np.testing.assert_allclose(counts, 0.2, atol=0.04)  # epsilon = 1: uniform
    assert outcomes["greedy_sto"] == outcomes["greedy_det"]  # epsilon = 0: greedy


def test_recurrent_state_shape_and_resets(outcomes: dict[str, Any]) -> None:
    assert list(np.ravel(outcomes["rec_h_size"])) == [2, 1, 5]  # num_layers x N x hidden
    assert np.all(np.isfinite(outcomes["rec_action"]))
    assert outcomes["reset_same"] == 1  # EpisodeStart true: as if State were zeros
    assert outcomes["carried_differs"] == 1
    assert outcomes["rec_double_err"] <= 1e-5


def test_user_cnn_with_padding_dilation_and_norms(outcomes: dict[str, Any]) -> None:
    assert outcomes["custom_cnn_err"] <= 3e-5  # 1e-5 per unit of action magnitude (3)
