"""The MATLAB runtime's own errors, raised in Octave with their documented IDs."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import scipy.io
from envs import SpaceEnv, box
from octave import run_octave
from stable_baselines3 import PPO, SAC

from sb3_matlab_callback import export_policy

pytestmark = pytest.mark.octave


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("runtime_errors")
    sac = SAC("MlpPolicy", SpaceEnv(box(-1, 1, (3,)), box(-1, 1, (2,))), buffer_size=10,
              policy_kwargs={"net_arch": [4]})
    export_policy(sac, tmp / "sac.mat")
    ppo = PPO("MlpPolicy", SpaceEnv(gym.spaces.MultiDiscrete([3, 4]), gym.spaces.Discrete(2)),
              n_steps=8, batch_size=8, policy_kwargs={"net_arch": [4]})
    export_policy(ppo, tmp / "multidiscrete.mat")
    good = (tmp / "sac.mat").read_bytes()
    (tmp / "truncated.mat").write_bytes(good[: len(good) // 2])
    (tmp / "garbage.mat").write_bytes(b"this is not a MAT file at all" * 10)
    scipy.io.savemat(tmp / "other.mat", {"x": np.eye(2)})
    data = scipy.io.loadmat(tmp / "sac.mat")
    scipy.io.savemat(tmp / "future.mat", {**{k: v for k, v in data.items()
                                            if not k.startswith("__")}, "format_version": 2.0})
    data["reference"][0, 0]["actions"] = data["reference"][0, 0]["actions"] + 0.01
    scipy.io.savemat(tmp / "tampered.mat", {k: v for k, v in data.items() if not k.startswith("__")})
    return tmp


CASES = {
    "wrong-width": ("p = sb3.load_policy('sac.mat'); sb3.predict(p, [1 2 3 4]);",
                    "sb3:predict:badObsSize", r"size \[1 4\]; expected a vector of 3 elements"),
    "wrong-batch": ("p = sb3.load_policy('sac.mat'); sb3.predict(p, ones(5, 2));",
                    "sb3:predict:badObsSize", r"size \[5 2\].*N-by-3"),
    "wrong-rank": ("p = sb3.load_policy('sac.mat'); sb3.predict(p, ones(2, 3, 2));",
                   "sb3:predict:badObsSize", r"size \[2 3 2\]"),
    "bad-discrete": ("p = sb3.load_policy('multidiscrete.mat'); sb3.predict(p, [1 4]);",
                     "sb3:predict:badObsValue", r"0\.\.n-1 \(n = \[3 4\]\); got 4"),
    "bad-option": ("p = sb3.load_policy('sac.mat'); sb3.predict(p, [1 2 3], 'Determinstic', 1);",
                   "sb3:predict:badOption", r"Unknown option 'Determinstic'"),
    "odd-options": ("p = sb3.load_policy('sac.mat'); sb3.predict(p, [1 2 3], 'State');",
                    "sb3:predict:badOption", r"name/value pairs"),
    "missing": ("sb3.load_policy('nope.mat');", "sb3:load_policy:notFound", r"nope\.mat"),
    "truncated": ("sb3.load_policy('truncated.mat');", "sb3:load_policy:corrupt", r"truncated\.mat"),
    "garbage": ("sb3.load_policy('garbage.mat');", "sb3:load_policy:corrupt", r"garbage\.mat"),
    "not-bundle": ("sb3.load_policy('other.mat');", "sb3:load_policy:notBundle", r"other\.mat"),
    "future": ("sb3.load_policy('future.mat');", "sb3:load_policy:badVersion", r"format_version 2"),
    "bad-precision": ("sb3.load_policy('sac.mat', 'Precision', 'half');",
                      "sb3:load_policy:badOption", r"'single' or 'double'"),
    "tampered": ("sb3.verify(sb3.load_policy('tampered.mat'));", "sb3:verify:mismatch",
                 r"deviates from SB3's predict by 0\.01"),
    "poll-cell-path": ("sb3.poll([], {'a', 'b'});", "sb3:poll:badArgument",
                       r"save_path must be a non-empty char vector or string"),
    "poll-empty-path": ("sb3.poll([], '');", "sb3:poll:badArgument", r"save_path must be"),
    "poll-bad-option": ("sb3.poll([], 'x', 'Verbose', 1);", "sb3:poll:badOption",
                        r"The only option is 'Verify'"),
    "poll-odd-option": ("sb3.poll([], 'x', 'Verify');", "sb3:poll:badOption",
                        r"The only option is 'Verify'"),
}


@pytest.fixture(scope="module")
def outcomes(bundles: Path) -> dict[str, tuple[str, str]]:
    script = ["ids = {}; msgs = {};"]
    for name, (code, _, _) in CASES.items():
        script.append(f"try\n  {code}\n  ids{{end+1}} = 'none'; msgs{{end+1}} = '{name}';\n"
                      f"catch e\n  ids{{end+1}} = e.identifier; msgs{{end+1}} = e.message;\nend")
    script.append("for k = 1:numel(ids), printf('%s\\t%s\\n', ids{k}, msgs{k}); end")
    out = run_octave("\n".join(script), bundles).stdout.strip().splitlines()
    lines = [line.split("\t", 1) for line in out if "\t" in line]
    assert len(lines) == len(CASES), out
    return dict(zip(CASES, [(i, m) for i, m in lines], strict=True))


@pytest.mark.parametrize("case", list(CASES))
def test_runtime_error(outcomes: dict[str, tuple[str, str]], case: str) -> None:
    import re

    identifier, message = outcomes[case]
    assert identifier == CASES[case][1], message
    assert re.search(CASES[case][2], message), message
