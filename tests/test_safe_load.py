"""Safe loading of ``model.save()`` zips and ``VecNormalize.save()`` pickles.

Malicious payloads of several kinds are planted in real model files; each must be refused
with an error naming the class and the entry, with nothing executed (a marker file is
never created) and nothing written. Every model of the parity matrix goes through the safe
path to the same bundle as ``export_policy(model)``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from matrix import all_cases
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from sb3_matlab_callback import export_policy, load_bundle
from sb3_matlab_callback.errors import ExportError
from sb3_matlab_callback.export_file import export_policy_file
from sb3_matlab_callback.safe_load import (
    UnsafePickleError,
    load_model_safely,
    read_vec_normalize,
    restricted_loads,
)


class Reduce:
    """Pickles as ``func(*args)``: what an attacker plants."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.func, self.args


def _chain(marker: Path) -> bytes:
    """``getattr(__import__('os'), 'system')('touch marker')`` in raw pickle opcodes."""
    command = f"touch {marker}"
    return (b"cbuiltins\ngetattr\n(cbuiltins\n__import__\n(Vos\ntRVsystem\ntR(V"
            + command.encode() + b"\ntR.")


def payloads(marker: Path) -> dict[str, bytes]:
    """Pickles that create ``marker`` when unpickled by an unrestricted loader."""
    touch = f"open({str(marker)!r}, 'w').close()"
    return {
        "os.system": pickle.dumps(Reduce(os.system, f"touch {marker}")),
        "subprocess": pickle.dumps(Reduce(subprocess.call, ["touch", str(marker)])),
        "eval": pickle.dumps(Reduce(eval, touch)),
        "exec": pickle.dumps(Reduce(exec, touch)),
        "reduce-chain": _chain(marker),
        # a class from an allowed package but outside the list: it would start processes
        "unexpected-class": b"cstable_baselines3.common.vec_env\nSubprocVecEnv\n(]tR.",
        # a function (not a class) from an allowed package
        "sb3-function": b"cstable_baselines3.common.utils\nset_random_seed\n(K\x01tR.",
    }


def _model_zip(tmp_path: Path) -> tuple[Any, Path]:
    model = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs={"net_arch": [8]}, buffer_size=10)
    path = tmp_path / "model.zip"
    model.save(path)
    return model, path


def _plant(source: Path, target: Path, key: str, payload: bytes) -> Path:
    """Copy ``source`` with ``data[key]`` replaced by the serialized ``payload``."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            content = zin.read(item)
            if item.filename == "data":
                data = json.loads(content)
                data[key] = {":type:": "<class 'x'>",
                             ":serialized:": base64.b64encode(payload).decode()}
                content = json.dumps(data).encode()
            zout.writestr(item, content)
    return target


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    return _model_zip(tmp_path_factory.mktemp("saved"))


@pytest.mark.parametrize("kind", list(payloads(Path("m"))))
@pytest.mark.parametrize("entry", ["policy_kwargs", "observation_space", "policy_class"])
def test_malicious_zip_entry_is_refused_and_nothing_runs(saved: tuple[Any, Path], tmp_path: Path,
                                                        entry: str, kind: str) -> None:
    marker = tmp_path / "marker"
    evil = _plant(saved[1], tmp_path / "evil.zip", entry, payloads(marker)[kind])
    out = tmp_path / "out.mat"
    with pytest.raises(UnsafePickleError) as info:
        export_policy_file(evil, out, algorithm="SAC")
    message = str(info.value)
    assert f"data[{entry!r}]" in message and "trust_pickle=True" in message
    assert not marker.exists()
    assert not out.exists()


def test_refusal_names_the_class(saved: tuple[Any, Path], tmp_path: Path) -> None:
    evil = _plant(saved[1], tmp_path / "evil.zip", "policy_kwargs",
                  payloads(tmp_path / "m")["unexpected-class"])
    with pytest.raises(UnsafePickleError, match=r"stable_baselines3\.common\.vec_env\.SubprocVecEnv"):
        load_model_safely(evil, SAC)


def test_entries_not_needed_are_never_unpickled(saved: tuple[Any, Path], tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    evil = _plant(saved[1], tmp_path / "evil.zip", "lr_schedule", payloads(marker)["os.system"])
    evil = _plant(evil, tmp_path / "evil2.zip", "replay_buffer_class", payloads(marker)["exec"])
    out = export_policy_file(evil, tmp_path / "out.mat", algorithm="SAC")
    assert not marker.exists()
    got, want = load_bundle(out), load_bundle(export_policy(saved[0], tmp_path / "ref.mat"))
    np.testing.assert_array_equal(got["reference"]["actions"], want["reference"]["actions"])


def test_unexpected_module_is_not_even_imported(tmp_path: Path) -> None:
    # ``this`` prints the Zen of Python when imported: refused before any import.
    code = ("from sb3_matlab_callback.safe_load import restricted_loads, UnsafePickleError\n"
            "try:\n    restricted_loads(b'cthis\\ns\\n.', 'probe')\n"
            "except UnsafePickleError as e:\n    print('refused', e)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.startswith("refused") and "this.s" in proc.stdout
    assert "Beautiful is better" not in proc.stdout


def test_malicious_policy_weights_are_refused(saved: tuple[Any, Path], tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    buffer = io.BytesIO()
    th.save({"w": Reduce(os.system, f"touch {marker}")}, buffer)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(saved[1]) as zin, zipfile.ZipFile(evil, "w") as zout:
        for item in zin.infolist():
            content = buffer.getvalue() if item.filename == "policy.pth" else zin.read(item)
            zout.writestr(item, content)
    with pytest.raises(UnsafePickleError, match=r"policy\.pth"):
        export_policy_file(evil, tmp_path / "out.mat", algorithm="SAC")
    assert not marker.exists() and not (tmp_path / "out.mat").exists()


@pytest.mark.parametrize("kind", ["os.system", "subprocess", "eval", "reduce-chain"])
def test_malicious_vec_normalize_pickle_is_refused(saved: tuple[Any, Path], tmp_path: Path,
                                                  kind: str) -> None:
    marker = tmp_path / "marker"
    pkl = tmp_path / "vecnormalize.pkl"
    pkl.write_bytes(payloads(marker)[kind])
    with pytest.raises(UnsafePickleError, match=r"vecnormalize\.pkl"):
        export_policy_file(saved[1], tmp_path / "out.mat", algorithm="SAC", vec_normalize=pkl)
    assert not marker.exists() and not (tmp_path / "out.mat").exists()


def test_vec_normalize_pickle_keeps_only_the_observation_statistics(tmp_path: Path) -> None:
    venv = VecNormalize(DummyVecEnv([lambda: gym.make("Pendulum-v1")]))
    venv.reset()
    for _ in range(20):
        venv.step(np.array([[0.5]]))
    venv.save(tmp_path / "vn.pkl")
    stats = read_vec_normalize(tmp_path / "vn.pkl")
    assert set(stats) == {"norm_obs", "norm_obs_keys", "clip_obs", "epsilon", "obs_rms",
                          "observation_space"}
    model = PPO("MlpPolicy", venv, policy_kwargs={"net_arch": [8]}, n_steps=16)
    model.save(tmp_path / "ppo.zip")
    got = load_bundle(export_policy_file(tmp_path / "ppo.zip", tmp_path / "a.mat",
                                         vec_normalize=tmp_path / "vn.pkl"))
    want = load_bundle(export_policy(model, tmp_path / "b.mat", vec_normalize=venv))
    np.testing.assert_array_equal(got["reference"]["actions"], want["reference"]["actions"])
    np.testing.assert_array_equal(np.asarray(got["reference"]["observations"]),
                                  np.asarray(want["reference"]["observations"]))


def test_statistics_of_another_shape_are_refused_with_advice(tmp_path: Path) -> None:
    model = PPO("MlpPolicy", "Pendulum-v1", policy_kwargs={"net_arch": [8]}, n_steps=16)
    model.save(tmp_path / "ppo.zip")
    venv = VecNormalize(DummyVecEnv([lambda: gym.make("CartPole-v1")]))  # 4 features, not 3
    venv.save(tmp_path / "vn.pkl")
    with pytest.raises(ExportError, match=r"shape \(4,\).*\(3,\).*saved with this model's run"):
        export_policy_file(tmp_path / "ppo.zip", tmp_path / "a.mat", vec_normalize=tmp_path / "vn.pkl")
    assert not (tmp_path / "a.mat").exists()


def test_algorithm_is_inferred_or_the_error_says_how(saved: tuple[Any, Path], tmp_path: Path) -> None:
    out = export_policy_file(saved[1], tmp_path / "out.mat")
    assert load_bundle(out)["algorithm"] == "SAC"
    with pytest.raises(ExportError, match="Did you mean 'SAC'"):
        export_policy_file(saved[1], tmp_path / "x.mat", algorithm="SACC")


def test_corrupt_files_get_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(ExportError, match="not a zip file"):
        load_model_safely(tmp_path / "junk.zip", SAC)
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as archive:
        archive.writestr("data", "{}")
    with pytest.raises(ExportError, match=r"no 'policy\.pth' entry"):
        load_model_safely(tmp_path / "empty.zip", SAC)
    with pytest.raises(ExportError, match="not a valid pickle"):
        restricted_loads(b"\x80\x05garbage", "probe")


def test_trust_pickle_uses_sb3_loaders(saved: tuple[Any, Path], tmp_path: Path) -> None:
    out = export_policy_file(saved[1], tmp_path / "out.mat", algorithm=SAC, trust_pickle=True)
    want = load_bundle(export_policy(saved[0], tmp_path / "ref.mat"))
    np.testing.assert_array_equal(load_bundle(out)["reference"]["actions"], want["reference"]["actions"])


def _ops(bundle: dict[str, Any]) -> str:
    ops = bundle["ops"] if isinstance(bundle["ops"], list) else [bundle["ops"]]
    return repr([{k: np.asarray(v).tolist() if isinstance(v, np.ndarray) else v
                  for k, v in sorted(op.items())} for op in ops])


@pytest.mark.slow
@pytest.mark.parametrize("case", all_cases(), ids=lambda c: c.name)
def test_matrix_models_export_the_same_through_the_safe_path(case: Any, tmp_path: Path) -> None:
    model = case.make(case.obs_space, case.act_space)
    model.save(tmp_path / "model.zip")
    safe = load_bundle(export_policy_file(tmp_path / "model.zip", tmp_path / "safe.mat",
                                          algorithm=type(model)))
    direct = load_bundle(export_policy(model, tmp_path / "direct.mat"))
    assert _ops(safe) == _ops(direct)
    np.testing.assert_array_equal(safe["reference"]["actions"], direct["reference"]["actions"])


def test_command_line_refuses_a_malicious_model(saved: tuple[Any, Path], tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    evil = _plant(saved[1], tmp_path / "evil.zip", "policy_kwargs", payloads(marker)["os.system"])
    proc = subprocess.run([sys.executable, "-m", "sb3_matlab_callback", "export", str(evil),
                           str(tmp_path / "out.mat"), "--algo", "SAC"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "posix.system" in proc.stderr and "--trust-pickle" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not marker.exists() and not (tmp_path / "out.mat").exists()
    ok = subprocess.run([sys.executable, "-m", "sb3_matlab_callback", "export", str(saved[1]),
                         str(tmp_path / "ok.mat")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert load_bundle(tmp_path / "ok.mat")["algorithm"] == "SAC"
