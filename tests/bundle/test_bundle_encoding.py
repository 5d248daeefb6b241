"""Cheap bundles (issue #9): float32 weights as ``single``, uncompressed by default.

- the lean MAT v5 writer gives exactly the bytes of ``scipy.io.savemat`` for every bundle
  of the parity matrix;
- new bundles keep torch's float32 as ``single`` and the reference in float64; old
  bundles (float64 weights, compressed) still load;
- in Octave, ``sb3.load_policy`` + ``sb3.verify`` pass on both, in both precisions, and
  the actions match SB3's ``predict``; ``sb3.params`` stays single.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io
import torch as th
from delivery_helpers import tiny_ppo, tiny_sac
from envs import SpaceEnv, box
from matrix import CASES, Case
from octave import require_octave, run_octave
from stable_baselines3 import SAC

from sb3_matlab_callback import export_policy
from sb3_matlab_callback.bundle.bundle import (
    _fingerprint,
    _matlab_ready,
    build_bundle,
    build_program,
    encode_bundle,
    map_leaves,
    program_fields,
)
from sb3_matlab_callback.bundle.mat5 import encode_mat5
from sb3_matlab_callback.deliver.writer import atomic_write_bytes


def _savemat(variables: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables, format="5", do_compression=False,
                     long_field_names=True, oned_as="row")
    return buffer.getvalue()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_lean_writer_gives_the_bytes_of_savemat(case: Case) -> None:
    variables = _matlab_ready(build_bundle(case.build()))
    ours, scipys = encode_mat5(variables), _savemat(variables)
    assert ours[116:] == scipys[116:]  # the first 116 bytes are text holding the time of writing
    assert ours[:19] == scipys[:19] == b"MATLAB 5.0 MAT-file"


@pytest.mark.parametrize("value", [
    {"e": np.zeros((0, 0)), "i": np.arange(3), "u": "caf\u00e9", "b": np.array([True]), "s": ""},
    {"c": np.array([[{"x": 1.0}, "a"]], dtype=object), "n": np.float32(2.5), "d": 3.0},
    {"x3": np.arange(24, dtype=np.float32).reshape(2, 3, 4), "col": np.ones((3, 1))},
])
def test_lean_writer_hands_the_rest_to_scipy(value: dict[str, Any]) -> None:
    assert encode_mat5({"v": value})[116:] == _savemat({"v": value})[116:]


def test_weights_are_single_and_the_reference_double(tmp_path: Path) -> None:
    model = tiny_sac()
    data = scipy.io.loadmat(export_policy(model, tmp_path / "p.mat"), simplify_cells=True)
    linear = [op for op in data["ops"] if op["op"] == "linear"]
    assert linear and all(op["weight"].dtype == np.float32 for op in linear)
    biases = [op["bias"] for op in linear if np.size(op["bias"]) > 1]  # 1x1 ones load as scalars
    assert biases and all(b.dtype == np.float32 for b in biases)
    assert data["reference"]["actions"].dtype == np.float64
    assert data["reference"]["observations"].dtype == np.float32  # the env's own dtype
    raw = scipy.io.loadmat(tmp_path / "p.mat")
    assert raw["num_timesteps"].dtype == raw["output"].dtype == np.float64  # the rest stays double
    # torch's weights, bit for bit
    first = model.policy.actor.latent_pi[0]
    np.testing.assert_array_equal(linear[0]["weight"], first.weight.detach().numpy())


def test_uncompressed_by_default_and_compression_on_request(tmp_path: Path) -> None:
    model = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs={"net_arch": [64, 64]}, seed=0,
                device="cpu")
    plain = export_policy(model, tmp_path / "plain.mat")
    small = export_policy(model, tmp_path / "small.mat", compress=True)
    assert small.stat().st_size < plain.stat().st_size
    for path in (plain, small):
        data = scipy.io.loadmat(path, simplify_cells=True)
        assert data["ops"][0]["weight"].dtype == np.float32
    with pytest.raises(TypeError, match="compress"):
        export_policy(model, tmp_path / "bad.mat", compress="yes")  # type: ignore[arg-type]


def _old_bundle(model: Any, path: Path) -> Path:
    """A bundle as versions before issue #9 wrote it: every float64, zlib-compressed."""

    def double(value: Any) -> Any:
        def leaf(item: Any) -> Any:
            if isinstance(item, np.ndarray) and item.dtype == np.float32:
                return item.astype(np.float64)
            return item

        return map_leaves(value, leaf)

    bundle = build_bundle(model)
    bundle["ops"] = double(bundle["ops"])
    bundle["inputs"] = double(bundle["inputs"])
    atomic_write_bytes(path, encode_bundle(bundle, compress=True))
    return path


OCTAVE_BOTH = """
names = {'new_sac', 'old_sac', 'new_ppo', 'old_ppo'};
for k = 1:numel(names)
  for p = {'single', 'double'}
    policy = sb3.load_policy([names{k} '.mat'], 'Precision', p{1});
    err = sb3.verify(policy);
    in = load([names{k} '_obs.mat']);
    a = sb3.predict(policy, in.obs);
    params = sb3.params(policy);
    f = fieldnames(params);
    allsingle = all(cellfun(@(n) isa(params.(n), 'single'), f));
    out.([names{k} '_' p{1}]) = struct('err', err, 'action', a, 'cls', class(a), ...
                                       'params_single', allsingle);
  end
end
save('-v7', 'out.mat', 'out');
"""


def test_octave_reads_new_and_old_bundles_in_both_precisions(tmp_path: Path) -> None:
    require_octave()
    rng = np.random.default_rng(0)
    models = {"sac": tiny_sac(), "ppo": tiny_ppo("CartPole-v1")}
    expected = {}
    for name, model in models.items():
        export_policy(model, tmp_path / f"new_{name}.mat")
        _old_bundle(model, tmp_path / f"old_{name}.mat")
        obs = np.stack([model.observation_space.sample() for _ in range(20)])
        obs = obs * rng.uniform(0.5, 1.0, size=obs.shape).astype(obs.dtype)
        actions, _ = model.predict(obs, deterministic=True)
        expected[name] = np.asarray(actions, dtype=np.float64).reshape(len(obs), -1)
        for kind in ("new", "old"):
            scipy.io.savemat(tmp_path / f"{kind}_{name}_obs.mat", {"obs": obs.astype(np.float64)})
    old = scipy.io.loadmat(tmp_path / "old_sac.mat", simplify_cells=True)
    assert old["ops"][0]["weight"].dtype == np.float64  # really an old-style bundle
    run_octave(OCTAVE_BOTH, tmp_path)
    out = scipy.io.loadmat(tmp_path / "out.mat", simplify_cells=True)["out"]
    for name in models:
        want = expected[name]
        for kind in ("new", "old"):
            for precision in ("single", "double"):
                got = out[f"{kind}_{name}_{precision}"]
                assert got["cls"] == "double" and bool(got["params_single"])
                assert float(got["err"]) <= 1e-5 * max(1.0, float(np.max(np.abs(want))))
                action = np.asarray(got["action"], dtype=np.float64).reshape(want.shape)
                if name == "ppo":
                    np.testing.assert_array_equal(action, want)
                else:
                    np.testing.assert_allclose(action, want, rtol=0,
                                               atol=1e-5 * max(1.0, float(np.max(np.abs(want)))))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_memoized_fingerprint_equals_the_computed_one(case: Case) -> None:
    from sb3_matlab_callback.generate import bundle_fingerprint

    program = build_program(case.build())
    assert _fingerprint(program) == bundle_fingerprint(program_fields(program))
    assert _fingerprint(program) == _fingerprint(program)  # served from the memo


def test_memoized_fingerprint_never_serves_another_architecture() -> None:
    low = SAC("MlpPolicy", SpaceEnv(box(-1.0, 1.0, (3,)), box(-1.0, 1.0, (2,))), seed=0,
              device="cpu", policy_kwargs={"net_arch": [8]})
    wide = SAC("MlpPolicy", SpaceEnv(box(-1.0, 1.0, (3,)), box(-2.0, 2.0, (2,))), seed=0,
               device="cpu", policy_kwargs={"net_arch": [8]})
    first = build_bundle(low)["fingerprint"]
    assert build_bundle(wide)["fingerprint"] != first  # bounds are fixed constants
    with th.no_grad():
        for parameter in low.policy.parameters():
            parameter.add_(0.5)  # another version: new weights, same architecture
    assert build_bundle(low)["fingerprint"] == first
