"""Generated MATLAB functions (``generate_matlab_function``) against SB3's own predict().

For every case of the parity matrix (:data:`matrix.CASES`): export version 1, generate
the function from it, then change the weights (and the VecNormalize statistics) as
training would and export version 2. One Octave process runs every generated function
one observation at a time with ``params = sb3.params(version 2)``, and the actions must
be SB3's ``predict`` of the changed model: within 1e-5 per unit of action magnitude for
Box actions, exactly for discrete ones. RecurrentPPO runs a sequence carrying ``h``/``c``
with an episode start in the middle; MaskablePPO gets random masks. MISS_HIT lints every
generated file as MATLAB.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io
import torch as th
from envs import perturb
from matrix import CASES, Case, randomize_buffers
from octave import run_octave
from parity_helpers import atol_for as _atol
from parity_helpers import for_matlab, fresh, masks_for
from parity_helpers import vec_normalize_for as _vec_normalize
from stable_baselines3 import PPO, SAC

from sb3_matlab_callback import (
    MatlabExportCallback,
    UnsupportedError,
    export_policy,
    generate_matlab_function,
    load_bundle,
)
from sb3_matlab_callback.bundle.bundle import build_program
from sb3_matlab_callback.cli import main as cli_main
from sb3_matlab_callback.generate import load_program_spec, render_matlab_function

ROOT = Path(__file__).resolve().parents[2]
N = 5  # observations per plain case, one call each
STEPS = 6  # recurrent sequence length; the episode restarts at step 4

OBS_AT = """function o = obs_at(obs, t)
%OBS_AT Observation t of a batch, in the observation's own shape.
if isstruct(obs)
  o = struct();
  names = fieldnames(obs);
  for k = 1:numel(names)
    o.(names{k}) = obs_at(obs.(names{k}), t);
  end
  return;
end
sz = size(obs);
if numel(sz) > 2
  o = reshape(obs(t, :), sz(2:end));
else
  o = obs(t, :);
end
end
"""


def _later_version(model: Any, case: Case, venv: Any) -> None:
    """Change every weight, buffer and statistic, as training between two exports would."""
    seed = zlib.crc32(case.name.encode()) % 1000 + 7
    perturb(model, scale=0.3, seed=seed)
    randomize_buffers(model, seed=seed)
    if venv is not None:
        rng = np.random.default_rng(seed)
        stats = venv.obs_rms.values() if isinstance(venv.obs_rms, dict) else [venv.obs_rms]
        for stat in stats:
            stat.mean = rng.normal(size=stat.mean.shape) * 3
            stat.var = rng.uniform(0.1, 9.0, size=stat.var.shape)


def _expected(model: Any, case: Case, venv: Any, rng: np.random.Generator, data: dict) -> dict:
    """SB3's predict on fresh observations (the sequence's state carried, for RecurrentPPO)."""
    if case.kind == "recurrent":
        obs = fresh(case.obs_space, rng, STEPS)
        data["obs"] = for_matlab(obs)
        actions, state = [], None
        for t in range(STEPS):
            one = {k: v[t] for k, v in obs.items()} if isinstance(obs, dict) else obs[t]
            action, state = model.predict(one, state=state, episode_start=np.array([t in (0, 3)]),
                                          deterministic=True)
            actions.append(np.asarray(action, dtype=np.float64).reshape(1, -1))
        return {"action": np.concatenate(actions), "h": state[0][:, 0, :], "c": state[1][:, 0, :]}
    obs = fresh(case.obs_space, rng, N)
    data["obs"] = for_matlab(obs)
    kwargs: dict[str, Any] = {}
    if case.kind == "masked":
        data["masks"] = kwargs["action_masks"] = masks_for(model, rng, N)
    actions, _ = model.predict(venv.normalize_obs(obs) if venv is not None else obs,
                               deterministic=True, **kwargs)
    return {"action": np.asarray(actions, dtype=np.float64).reshape(N, -1)}


def _block(index: int, case: Case, name: str) -> str:
    if case.kind == "recurrent":
        body = f"""
  h = zeros(size(d.h0));
  c = zeros(size(d.c0));
  r.action = [];
  for t = 1:{STEPS}
    [a, h, c] = {name}(obs_at(d.obs, t), params, h, c, t == 1 || t == 4);
    r.action = [r.action; a];
  end
  r.h = h;
  r.c = c;"""
    else:
        masks = ", logical(d.masks(t, :))" if case.kind == "masked" else ""
        body = f"""
  r.action = [];
  for t = 1:{N}
    r.action = [r.action; {name}(obs_at(d.obs, t), params{masks})];
  end"""
    return f"""
r = struct();
try
  d = load('in_{index}.mat');
  p = sb3.load_policy(d.bundle);
  params = sb3.params(p, d.fingerprint);
  r.single_fields = all(structfun(@(v) isa(v, 'single'), params));
  names = fieldnames(params);
  r.layout = '';
  for k = 1:numel(names)
    r.layout = [r.layout sprintf('%s %s;', names{{k}}, mat2str(size(params.(names{{k}}))))];
  end{body}
catch e
  r.error = [e.identifier ': ' e.message];
end
save('-v7', 'out_{index}.mat', '-struct', 'r');
"""


def _layout(spec: Any) -> str:
    """The params fields and sizes, as the Octave block prints them (``mat2str(size(v))``)."""
    return "".join(f"{p.name} [{' '.join(str(d) for d in p.size)}];" for p in spec.params())


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("generate")
    work = tmp / "octave"
    work.mkdir()
    (work / "obs_at.m").write_text(OBS_AT)
    blocks, expected, fingerprints, files, layouts = [], {}, {}, [], {}
    for index, case in enumerate(CASES):
        model = case.build()
        venv = _vec_normalize(case) if case.vec_normalize else None
        first = export_policy(model, tmp / f"{case.name}_v000001.mat", vec_normalize=venv)
        name = f"gen{index}_predict"
        files.append(generate_matlab_function(first, work, name=name))
        _later_version(model, case, venv)
        later = export_policy(model, tmp / f"{case.name}_v000002.mat", vec_normalize=venv,
                              version=2)
        fingerprints[case.name] = (load_bundle(first)["fingerprint"],
                                   load_bundle(later)["fingerprint"])
        data: dict[str, Any] = {"bundle": str(later), "fingerprint": fingerprints[case.name][0]}
        expected[case.name] = _expected(model, case, venv, np.random.default_rng(index), data)
        if case.kind == "recurrent":
            data["h0"], data["c0"] = expected[case.name]["h"], expected[case.name]["c"]
        scipy.io.savemat(work / f"in_{index}.mat", data, long_field_names=True)
        blocks.append(_block(index, case, name))
        layouts[case.name] = _layout(load_program_spec(later))
    run_octave("\n".join(blocks), work, timeout=1200)
    results = {}
    for index, case in enumerate(CASES):
        out = scipy.io.loadmat(work / f"out_{index}.mat", simplify_cells=True)
        results[case.name] = {"expected": expected[case.name],
                              "layout_expected": layouts[case.name], **out}
    return {"results": results, "fingerprints": fingerprints, "files": files, "work": work}


@pytest.mark.octave
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_generated_function_matches_sb3_predict(generated: dict[str, Any], case: Case) -> None:
    first, later = generated["fingerprints"][case.name]
    assert first == later, "one architecture, one fingerprint across versions"
    res = generated["results"][case.name]
    assert "error" not in res, res["error"]
    assert res["single_fields"]
    # sb3.params builds exactly the fields and sizes the generator wrote (bias folding included).
    assert str(res["layout"]) == res["layout_expected"]
    want = res["expected"]
    got = np.asarray(res["action"], dtype=np.float64).reshape(want["action"].shape)
    if case.action == "Box":
        np.testing.assert_allclose(got, want["action"], atol=_atol(want["action"]), rtol=0)
    else:
        np.testing.assert_array_equal(got, want["action"])
    if case.kind == "recurrent":
        for key in ("h", "c"):  # float32 gates reach ~100 in these random nets: 1e-4
            np.testing.assert_allclose(np.reshape(res[key], want[key].shape), want[key],
                                       atol=1e-4, rtol=0)


def _miss_hit(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} (MISS_HIT, pip install miss_hit) is not installed")
    return exe


@pytest.mark.octave
def test_generated_files_pass_mh_lint(generated: dict[str, Any]) -> None:
    exe = _miss_hit("mh_lint")
    files = [str(f) for f in generated["files"]]
    proc = subprocess.run([exe, "--brief", *files], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "everything seems fine" in proc.stdout or not proc.stdout.strip(), proc.stdout


@pytest.mark.octave
def test_generated_files_pass_mh_style(generated: dict[str, Any], tmp_path: Path) -> None:
    exe = _miss_hit("mh_style")
    config = ROOT / "miss_hit.cfg"
    if not config.is_file():
        pytest.skip("no project miss_hit.cfg yet")
    for path in generated["files"]:
        shutil.copy(path, tmp_path / path.name)
    shutil.copy(config, tmp_path / "miss_hit.cfg")
    proc = subprocess.run([exe, "--brief", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- Python side
def _sac(arch: list[int] | None = None) -> SAC:
    return SAC("MlpPolicy", "Pendulum-v1", seed=0, device="cpu", buffer_size=64,
               policy_kwargs={"net_arch": arch or [8]})


def test_fingerprint_is_the_same_from_program_bundle_and_file(tmp_path: Path) -> None:
    model = _sac()
    path = export_policy(model, tmp_path / "p.mat")
    recorded = load_bundle(path)["fingerprint"]
    program = load_program_spec(build_program(model))
    from sb3_matlab_callback.generate import architecture_fingerprint

    assert architecture_fingerprint(program) == recorded
    assert len(recorded) == 64 and int(recorded, 16) >= 0
    with th.no_grad():
        for param in model.policy.parameters():
            param.mul_(2.0)
    assert load_bundle(export_policy(model, tmp_path / "q.mat"))["fingerprint"] == recorded
    assert load_bundle(export_policy(_sac([9]), tmp_path / "r.mat"))["fingerprint"] != recorded


def test_generated_header_and_name(tmp_path: Path) -> None:
    path = export_policy(_sac(), tmp_path / "run_v000003.mat")
    out = generate_matlab_function(path, tmp_path / "gen")
    assert out == tmp_path / "gen" / "run_predict.m"
    text = out.read_text()
    lines = text.splitlines()
    assert lines[0] == "function action = run_predict(obs, params)"
    assert lines[1].startswith("%RUN_PREDICT ")
    assert "%#codegen" in lines
    assert f"Architecture fingerprint: {load_bundle(path)['fingerprint']}" in text
    assert all(len(line) <= 100 for line in lines)
    for forbidden in ("eval", "load(", "cell", "@", "try", "jsondecode", ".("):
        code = "\n".join(line for line in lines if not line.lstrip().startswith("%"))
        assert forbidden not in code, forbidden
    assert generate_matlab_function(path, tmp_path, name="other").name == "other.m"


@pytest.mark.parametrize("name", ["1bad", "bad-name", "end", "x" * 64])
def test_invalid_function_name_is_refused(tmp_path: Path, name: str) -> None:
    path = export_policy(_sac(), tmp_path / "p.mat")
    with pytest.raises(ValueError, match="not a valid MATLAB function name"):
        generate_matlab_function(path, tmp_path, name=name)
    assert not list(tmp_path.glob("*.m"))


def test_unknown_op_is_named(tmp_path: Path) -> None:
    bundle = load_bundle(export_policy(_sac(), tmp_path / "p.mat"))
    bundle["ops"][1]["op"] = "rleu"
    with pytest.raises(UnsupportedError, match=r"'rleu'.*Did you mean 'relu'"):
        render_matlab_function(load_program_spec(bundle), "f")


def test_sampling_op_in_deterministic_mode_is_refused(tmp_path: Path) -> None:
    bundle = load_bundle(export_policy(_sac(), tmp_path / "p.mat"))
    bundle["ops"][1]["op"], bundle["ops"][1]["mode"] = "gaussian_sample", "always"
    with pytest.raises(UnsupportedError, match=r"gaussian_sample.*deterministic"):
        load_program_spec(bundle)


def test_cli_generate(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = export_policy(_sac(), tmp_path / "p.mat")
    assert cli_main(["generate", str(path), str(tmp_path / "out"), "--name", "ctl"]) == 0
    assert (tmp_path / "out" / "ctl.m").is_file()
    assert "ctl.m" in capsys.readouterr().out
    assert cli_main(["generate", str(tmp_path / "missing.mat"), str(tmp_path)]) == 1
    assert "missing.mat" in capsys.readouterr().err


def test_callback_writes_the_function_at_training_start(tmp_path: Path) -> None:
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=16, batch_size=16, seed=0, device="cpu",
                policy_kwargs={"net_arch": [8]})
    callback = MatlabExportCallback(save_freq=16, save_path=tmp_path, name_prefix="cart")
    model.learn(32, callback=callback)
    function = tmp_path / "matlab" / "cart_predict.m"
    text = function.read_text()
    latest = load_bundle(tmp_path / callback.last_committed.file)
    assert f"Architecture fingerprint: {latest['fingerprint']}" in text
    # A resumed run with another architecture regenerates it.
    other = PPO("MlpPolicy", "CartPole-v1", n_steps=16, batch_size=16, seed=0, device="cpu",
                policy_kwargs={"net_arch": [5]})
    other.learn(16, callback=MatlabExportCallback(save_freq=16, save_path=tmp_path,
                                                  name_prefix="cart"))
    assert function.read_text() != text
    newest = sorted(tmp_path.glob("cart_v*.mat"))[-1]
    assert f"Architecture fingerprint: {load_bundle(newest)['fingerprint']}" in function.read_text()


# --------------------------------------------------------------------------- bias folding
def _sizes(model: Any) -> list[tuple[str, tuple[int, ...]]]:
    return [(p.name, tuple(p.size)) for p in load_program_spec(build_program(model)).params()]


@pytest.mark.parametrize(("activation", "first", "carried"), [
    (th.nn.ReLU, (4, 9), True),
    (th.nn.Hardshrink, (4, 9), True),  # x .* (abs(x) > 0.5): 1 stays 1, NaN stays NaN
    (th.nn.Tanh, (4, 8), False),
    (th.nn.LeakyReLU, (4, 8), False),  # max/min forms map NaN to a number: no carrying
    (th.nn.ReLU6, (4, 8), False),
])
def test_linear_bias_is_folded_and_the_unit_carried_through_relu(activation: type, first: tuple,
                                                                 carried: bool) -> None:
    model = SAC("MlpPolicy", "Pendulum-v1", seed=0, device="cpu", buffer_size=64,
                policy_kwargs={"net_arch": [8], "activation_fn": activation})
    assert _sizes(model) == [("op1_weight", first), ("op3_weight", (9, 1))]
    text = render_matlab_function(load_program_spec(build_program(model)), "f")
    code = [line for line in text.splitlines() if not line.startswith("%")]
    assert not any("+ params." in line for line in code), "no separate bias additions"
    assert any(re.search(r"\[(double\()?obs\)?, 1\] \* params\.op1_weight", line) for line in code)
    concatenated = any(", 1] * params.op3_weight" in line for line in code)
    assert concatenated != carried, "a carried unit needs no [x, 1]"


def test_unit_carriers_follow_every_reader() -> None:
    from sb3_matlab_callback.generate.spec import Step, unit_carriers

    def steps(*ops: tuple) -> list[Step]:
        return [Step(op, mode, inputs, out, {}) for op, mode, inputs, out in ops]

    chain = [("linear", "always", (1,), 2), ("relu", "always", (2,), 3),
             ("linear", "always", (3,), 4)]
    assert unit_carriers(steps(*chain), output=4) == {0, 1}
    # A sampling-only reader is not generated; a reader that is not linear or relu stops it.
    assert unit_carriers(steps(*chain, ("exp", "stochastic", (3,), 5)), output=4) == {0, 1}
    assert unit_carriers(steps(*chain, ("tanh", "always", (3,), 5)), output=5) == set()
    assert unit_carriers(steps(*chain, ("concat", "always", (2, 4), 5)), output=5) == {1}
    # The program's output never carries; a register written again is judged per writer.
    assert unit_carriers(steps(*chain[:2]), output=3) == set()
    rewritten = steps(*chain, ("linear", "always", (4,), 3), ("tanh", "always", (3,), 6))
    assert unit_carriers(rewritten, output=6) == {0, 1, 2}


@pytest.mark.octave
@pytest.mark.parametrize("head", ["squash", "clip"])
def test_non_finite_observation_gives_nan_and_a_column_is_refused(tmp_path: Path,
                                                                  head: str) -> None:
    model = _sac([8, 8]) if head == "squash" else PPO(
        "MlpPolicy", "Pendulum-v1", seed=0, device="cpu", n_steps=64,
        policy_kwargs={"net_arch": [8, 8]})
    path = export_policy(model, tmp_path / "p.mat")
    generate_matlab_function(path, tmp_path, name="f")
    out = run_octave(f"""
p = sb3.params(sb3.load_policy('{path}'));
r = struct('nan', f([NaN 0 0], p), 'inf', f([Inf 0 0], p), 'neg', f([0 -Inf 0], p));
try
  f([0.1; 0.2; 0.3], p);
  r.column = 'accepted';
catch e
  r.column = e.message;
end
save('-v7', 'out.mat', '-struct', 'r');
""", tmp_path)
    res = scipy.io.loadmat(tmp_path / "out.mat", simplify_cells=True)
    assert np.isnan(res["nan"]), (res, out)
    with pytest.raises(ValueError):  # SB3 gives no action for it either
        model.predict(np.array([np.nan, 0, 0], dtype=np.float32), deterministic=True)
    if head == "squash":  # the carried unit turns Inf into NaN: every layer is NaN
        assert np.isnan([res["inf"], res["neg"]]).all(), (res, out)
    else:  # tanh layers carry no unit; tanh(+-Inf) is finite, and SB3 gives the same action
        for key, obs in (("inf", [np.inf, 0, 0]), ("neg", [0, -np.inf, 0])):
            expected = model.predict(np.array(obs, dtype=np.float32), deterministic=True)[0]
            np.testing.assert_allclose(res[key], expected[0], atol=1e-5)
    assert res["column"] != "accepted"


# --------------------------------------------------------------------------- squash + unscale
def _code_lines(model: Any) -> list[str]:
    text = render_matlab_function(load_program_spec(build_program(model)), "f")
    return [line for line in text.splitlines() if line and not line.lstrip().startswith("%")]


def test_squash_and_unscale_become_one_logistic() -> None:
    from stable_baselines3 import TD3

    for model in (_sac(), TD3("MlpPolicy", "Pendulum-v1", seed=0, device="cpu", buffer_size=64,
                              policy_kwargs={"net_arch": [8]})):
        code = _code_lines(model)
        assert not any("tanh(" in line for line in code), code
        assert code[-2] == ("action(:) = 2 - 4 ./ (1 + 7.38905609893065.^(r2 * "
                            "params.op3_weight));"), code
    # A tanh read by a linear layer (PPO's default hidden layers) stays a tanh.
    ppo = PPO("MlpPolicy", "Pendulum-v1", seed=0, device="cpu", n_steps=64,
              policy_kwargs={"net_arch": [8]})
    assert any("tanh(" in line for line in _code_lines(ppo))


@pytest.mark.octave
def test_saturated_and_moderate_squashed_actions_match_sb3(tmp_path: Path) -> None:
    """The logistic gives SB3's tanh-then-unscale actions at the bounds and between them."""
    model = SAC("MlpPolicy", "MountainCarContinuous-v0", seed=0, device="cpu", buffer_size=64,
                policy_kwargs={"net_arch": [8]})
    with th.no_grad():
        model.policy.actor.mu.weight.mul_(300.0)  # pre-squash means of up to a few hundred
    obs = np.random.default_rng(0).uniform(-3, 3, (200, 2)).astype(np.float32)
    obs[:, 1] /= 30  # MountainCar's velocity range
    expected = model.predict(obs, deterministic=True)[0]
    path = export_policy(model, tmp_path / "p.mat")
    generate_matlab_function(path, tmp_path, name="f")
    scipy.io.savemat(tmp_path / "obs.mat", {"X": obs.astype(np.float64)})
    run_octave(f"""
p = sb3.params(sb3.load_policy('{path}'));
d = load('obs.mat');
A = zeros(size(d.X, 1), 1);
for k = 1:size(d.X, 1)
  A(k, :) = f(d.X(k, :), p);
end
save('-v7', 'out.mat', 'A');
""", tmp_path)
    actions = scipy.io.loadmat(tmp_path / "out.mat")["A"]
    assert (np.abs(expected) == 1).sum() >= 20, "many actions are at a bound"
    assert (np.abs(expected) < 0.99).sum() >= 5, "some are not"
    np.testing.assert_allclose(actions, expected, atol=1e-5)


@pytest.mark.octave
def test_custom_cnn_with_batch_and_layer_norm_matches_sb3(tmp_path: Path) -> None:
    """A user's extractor (padding, dilation, 'same', ELU, BatchNorm1d, LayerNorm) and a clip."""
    from custom_cnn import IMAGE, custom_cnn_model

    model = custom_cnn_model()
    perturb(model)
    images = np.random.default_rng(0).integers(0, 256, (6, *IMAGE.shape), dtype=np.uint8)
    expected = np.stack([model.predict(image, deterministic=True)[0] for image in images])
    path = export_policy(model, tmp_path / "p.mat")
    text = generate_matlab_function(path, tmp_path, name="f").read_text()
    assert "op7_var" in text and "op8_bias" in text, "the norms are generated, not skipped"
    scipy.io.savemat(tmp_path / "obs.mat", {"X": images})
    run_octave(f"""
p = sb3.params(sb3.load_policy('{path}'));
d = load('obs.mat');
A = zeros(size(d.X, 1), 2);
for k = 1:size(d.X, 1)
  A(k, :) = f(reshape(d.X(k, :, :, :), {', '.join(map(str, IMAGE.shape))}), p);
end
save('-v7', 'out.mat', 'A');
""", tmp_path)
    actions = scipy.io.loadmat(tmp_path / "out.mat")["A"]
    np.testing.assert_allclose(actions, expected, atol=_atol(expected))
