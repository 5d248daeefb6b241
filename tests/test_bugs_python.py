"""Regression tests of issue #12, Python side: each test reproduces one reported defect.

Crashes and silently wrong actions (VecNormalize without ``norm_obs``, a forgotten
``vec_normalize=``, non-finite weights, overriding subclasses), data loss and escapes
(relative ``save_path`` after ``chdir``, a symlinked ``.lock``, a leaked folder lock,
hostile manifests), clear errors instead of tracebacks (HER and frame-stacked models on
the command line, MAT v5 size limits) and the smaller argument checks.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from delivery_helpers import (
    check_folder,
    one_torch_thread,  # noqa: F401 (a fixture)
    stray_files,
    tiny_ppo,
    tiny_sac,
    versions,
)
from envs import SpaceEnv, box, perturb
from octave import PredictCall, octave_predict_many
from stable_baselines3 import PPO, SAC, HerReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.envs import BitFlippingEnv
from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack, VecNormalize

from sb3_matlab_callback import (
    BundleError,
    ExportError,
    ExportFolderError,
    ExportWarning,
    ManifestError,
    MatlabExportCallback,
    UnsupportedError,
    export_policy,
    load_bundle,
    read_manifest,
)
from sb3_matlab_callback.bundle import bundle as bundle_module
from sb3_matlab_callback.bundle.bundle import build_bundle, encode_bundle
from sb3_matlab_callback.cli import main as cli_main
from sb3_matlab_callback.deliver import manifest as manifest_module
from sb3_matlab_callback.deliver.export_folder import ExportFolder
from sb3_matlab_callback.deliver.manifest import MANIFEST_NAME
from sb3_matlab_callback.deliver.writer import LOCK_NAME, FolderLock, atomic_write_bytes
from sb3_matlab_callback.translate.extractors import find_extractor

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.usefixtures("one_torch_thread")]

OBS = box(-1.0, 1.0, shape=(3,))
ACT = box(-2.0, 2.0, shape=(2,))


def untrained_sac(env: Any = "Pendulum-v1", **kwargs: Any) -> SAC:
    return tiny_sac(env, learning_starts=100_000, **kwargs)


def _pendulum_venv(**kwargs: Any) -> VecNormalize:
    return VecNormalize(DummyVecEnv([lambda: gym.make("Pendulum-v1")]), **kwargs)


def _set_stats(venv: VecNormalize, seed: int = 3) -> VecNormalize:
    rng = np.random.default_rng(seed)
    stats = venv.obs_rms.values() if isinstance(venv.obs_rms, dict) else [venv.obs_rms]
    for stat in stats:
        stat.mean = rng.normal(size=stat.mean.shape) * 3
        stat.var = rng.uniform(0.1, 9.0, size=stat.var.shape)
    return venv


def _predict(model: Any, obs: Any, venv: VecNormalize | None = None) -> np.ndarray:
    sb3_obs = venv.normalize_obs(obs) if venv is not None else obs
    actions, _ = model.predict(sb3_obs, deterministic=True)
    return np.asarray(actions, dtype=np.float64).reshape(len(next(iter(obs.values())))
                                                         if isinstance(obs, dict) else len(obs), -1)


def assert_same_actions(bundle: dict[str, Any], expected: np.ndarray, **kwargs: Any) -> None:
    np.testing.assert_allclose(np.ravel(bundle["reference"]["actions"]), np.ravel(expected),
                               **kwargs)


# --- 1. VecNormalize(norm_obs=False), norm_obs_keys and Dict spaces ------------------------


def test_vec_normalize_without_norm_obs_trains_and_exports_unnormalized(tmp_path: Path) -> None:
    venv = _pendulum_venv(norm_obs=False)  # rl-zoo3's CarRacing: rewards only
    model = untrained_sac(venv)
    folder = tmp_path / "run"
    model.learn(250, callback=MatlabExportCallback(100, folder))
    manifest = check_folder(folder)
    assert [c["num_timesteps"] for c in manifest["checkpoints"]] == [100, 200, 250]
    assert manifest["run"]["vec_normalize"] is False
    bundle = load_bundle(folder / manifest["checkpoints"][-1]["file"])
    assert bundle["vec_normalize"] == 0
    assert bundle["vec_normalize_source"] == "none"
    obs = bundle["reference"]["observations"]
    assert_same_actions(bundle, _predict(model, obs), atol=1e-6)


def test_export_policy_with_a_reward_only_vec_normalize(tmp_path: Path) -> None:
    venv = _pendulum_venv(norm_obs=False)
    model = untrained_sac(venv)
    for given in (venv, None):
        bundle = load_bundle(export_policy(model, tmp_path / "p.mat", vec_normalize=given))
        assert bundle["vec_normalize"] == 0 and bundle["vec_normalize_source"] == "none"


DICT_BOXES = gym.spaces.Dict({"a": box(-5.0, 5.0, shape=(3,)), "b": box(-1.0, 1.0, (2,))})
DICT_MIXED = gym.spaces.Dict({"pos": box(-1.0, 1.0, shape=(3,)), "mode": gym.spaces.Discrete(3)})
DICT_IMAGE = gym.spaces.Dict({"cam": gym.spaces.Box(0, 255, (36, 36, 1), np.uint8),
                              "state": box(-1.0, 1.0, (2,))})

NORM_KEY_CASES = [
    ("subset_of_boxes", DICT_BOXES, ["a"]),
    ("box_beside_discrete", DICT_MIXED, ["pos"]),
    ("all_boxes", DICT_BOXES, None),
    ("image_not_normalized", DICT_IMAGE, ["state"]),
    ("image_normalized", DICT_IMAGE, ["cam", "state"]),
]


def _dict_obs(space: gym.spaces.Dict, n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for key, sub in space.spaces.items():
        if isinstance(sub, gym.spaces.Discrete):
            out[key] = rng.integers(0, sub.n, size=n)
        elif sub.dtype == np.uint8:
            out[key] = rng.integers(0, 256, size=(n, *sub.shape), dtype=np.uint8)
        else:
            out[key] = rng.uniform(sub.low * 3, sub.high * 3, size=(n, *sub.shape)).astype(np.float32)
    return out


@pytest.mark.octave
def test_norm_obs_keys_and_dict_spaces_match_sb3_in_octave(tmp_path: Path) -> None:
    calls, expected = [], []
    for index, (name, space, keys) in enumerate(NORM_KEY_CASES):
        venv = VecNormalize(DummyVecEnv([lambda s=space: SpaceEnv(s, ACT)]), clip_obs=2.5,
                            norm_obs_keys=keys)
        _set_stats(venv, seed=index)
        model = PPO("MultiInputPolicy", venv, n_steps=8, batch_size=8, seed=index,
                    policy_kwargs={"net_arch": [8]})
        perturb(model, seed=index)
        path = export_policy(model, tmp_path / f"{name}.mat")  # the model's own VecNormalize
        assert load_bundle(path)["vec_normalize_source"] == "model_env"
        raw = _dict_obs(space, 12, seed=10 + index)
        expected.append(_predict(model, raw, venv))
        obs = {k: (v.reshape(-1, 1) if v.ndim == 1 else v).astype(np.float64) for k, v in raw.items()}
        calls.append(PredictCall(path, obs))
    outputs = octave_predict_many(calls, tmp_path / "octave")
    for (name, _, _), want, out in zip(NORM_KEY_CASES, expected, outputs, strict=True):
        assert "error" not in out, (name, out.get("error"))
        np.testing.assert_allclose(out["action"], want, atol=1e-5, rtol=0, err_msg=name)
        assert out["err"].item() <= 1e-5, name


# --- 2. A forgotten vec_normalize= ----------------------------------------------------------


def test_export_policy_uses_the_models_vec_normalize(tmp_path: Path) -> None:
    venv = _set_stats(_pendulum_venv(clip_obs=2.5))
    model = untrained_sac(venv)
    perturb(model)
    bundle = load_bundle(export_policy(model, tmp_path / "auto.mat"))
    assert bundle["vec_normalize"] == 1 and bundle["vec_normalize_source"] == "model_env"
    obs = bundle["reference"]["observations"]
    assert_same_actions(bundle, _predict(model, obs, venv),
                               atol=1e-6)
    assert not np.allclose(_predict(model, obs, venv), _predict(model, obs))
    given = load_bundle(export_policy(model, tmp_path / "given.mat", vec_normalize=venv))
    assert given["vec_normalize_source"] == "argument"
    raw = load_bundle(export_policy(model, tmp_path / "raw.mat", vec_normalize=False))
    assert raw["vec_normalize"] == 0 and raw["vec_normalize_source"] == "none"
    assert_same_actions(raw, _predict(model, obs), atol=1e-6)


@pytest.mark.octave
def test_forgotten_vec_normalize_gives_sb3_actions_on_raw_observations(tmp_path: Path) -> None:
    venv = _set_stats(_pendulum_venv(clip_obs=2.5))
    model = untrained_sac(venv)
    perturb(model)
    path = export_policy(model, tmp_path / "p.mat")
    obs = np.random.default_rng(0).uniform(-8, 8, size=(30, 3))
    (out,) = octave_predict_many([PredictCall(path, obs)], tmp_path / "octave")
    assert "error" not in out, out.get("error")
    np.testing.assert_allclose(out["action"], _predict(model, obs, venv), atol=1e-5, rtol=0)


def test_callback_records_the_training_env_as_the_source(tmp_path: Path) -> None:
    model = untrained_sac(_set_stats(_pendulum_venv()))
    model.learn(100, callback=MatlabExportCallback(100, tmp_path / "run"))
    manifest = check_folder(tmp_path / "run")
    bundle = load_bundle(tmp_path / "run" / manifest["checkpoints"][-1]["file"])
    assert bundle["vec_normalize_source"] == "training_env" and bundle["vec_normalize"] == 1


def test_vec_normalize_true_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="vec_normalize"):
        export_policy(untrained_sac(), tmp_path / "p.mat", vec_normalize=True)  # type: ignore[arg-type]


def test_a_model_without_env_that_evidently_saw_normalized_images_warns(tmp_path: Path) -> None:
    image = gym.spaces.Box(0, 255, (12, 12, 1), np.uint8)
    venv = VecNormalize(DummyVecEnv([lambda: SpaceEnv(image, ACT)]))  # image -> Box(-10, 10)
    PPO("MlpPolicy", venv, n_steps=8, batch_size=8, policy_kwargs={"net_arch": [4]}).save(
        tmp_path / "m.zip")
    loaded = PPO.load(tmp_path / "m.zip")  # no env: the statistics are elsewhere
    with pytest.warns(UserWarning, match="trained on normalized observations"):
        export_policy(loaded, tmp_path / "p.mat")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        export_policy(loaded, tmp_path / "q.mat", vec_normalize=False)  # opted out: silent


def test_an_ordinary_symmetric_float_space_does_not_warn(tmp_path: Path) -> None:
    space = gym.spaces.Box(-1.0, 1.0, (2, 3, 4), np.float32)  # not VecNormalize's +-clip_obs
    PPO("MlpPolicy", DummyVecEnv([lambda: SpaceEnv(space, ACT)]), n_steps=8, batch_size=8,
        policy_kwargs={"net_arch": [4]}).save(tmp_path / "m.zip")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        export_policy(PPO.load(tmp_path / "m.zip"), tmp_path / "p.mat")


# --- 3. Non-finite weights, statistics and reference actions ---------------------------------


def test_nan_weight_is_refused_naming_the_tensor(tmp_path: Path) -> None:
    model = untrained_sac()
    with th.no_grad():
        model.policy.actor.mu.weight[0, 0] = float("nan")
    with pytest.raises(ExportError, match=r"actor\.mu\.weight.*NaN"):
        export_policy(model, tmp_path / "p.mat")
    assert not (tmp_path / "p.mat").exists()


def test_inf_in_vec_normalize_statistics_is_refused(tmp_path: Path) -> None:
    venv = _pendulum_venv()
    venv.obs_rms.var[1] = float("inf")
    model = untrained_sac(venv)
    with pytest.raises(ExportError, match=r"VecNormalize.*obs_rms\.var.*Inf"):
        export_policy(model, tmp_path / "p.mat")
    assert not (tmp_path / "p.mat").exists()


def test_nan_reference_actions_are_never_written(tmp_path: Path) -> None:
    model = untrained_sac()
    obs = np.zeros((4, 3), dtype=np.float32)
    obs[2, 1] = np.nan
    with pytest.raises(ExportError, match="NaN"):
        export_policy(model, tmp_path / "p.mat", reference_observations=obs)
    assert not (tmp_path / "p.mat").exists()


class _Poison(BaseCallback):
    """Set one actor weight to NaN at call ``at``, as a diverging update would."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def _on_step(self) -> bool:
        if self.n_calls == self.at:
            with th.no_grad():
                self.model.policy.actor.latent_pi[0].weight[0, 0] = float("nan")
        return True


@pytest.mark.parametrize("background", [True, False])
def test_callback_refuses_nan_weights_and_commits_nothing(tmp_path: Path, background: bool) -> None:
    folder = tmp_path / "run"
    callback = MatlabExportCallback(100, folder, background=background)
    model = untrained_sac()
    with pytest.raises(ExportError, match=r"actor\.latent_pi\.0\.weight") as info:
        model.learn(1000, callback=CallbackList([_Poison(150), callback]))
    assert "version 2" in str(info.value)
    assert versions(folder) == [1] and stray_files(folder) == set()
    FolderLock.acquire(folder).release()  # released


# --- 4. Subclasses that override what the bundle reproduces ---------------------------------


class HalfSAC(SAC):
    def predict(self, *args: Any, **kwargs: Any) -> Any:
        action, state = super().predict(*args, **kwargs)
        return action / 2, state


class ScaledSAC(SAC):
    pass


class ScaledSACChild(ScaledSAC):
    def scale_action(self, action: np.ndarray) -> np.ndarray:  # a method SB3 never calls here
        return action


class PlainSAC(SAC):
    """A user's subclass that changes nothing the bundle reproduces."""

    def train(self, *args: Any, **kwargs: Any) -> None:
        super().train(*args, **kwargs)


def _sac_of(cls: type) -> Any:
    return cls("MlpPolicy", SpaceEnv(OBS, ACT), buffer_size=10, policy_kwargs={"net_arch": [4]})


@pytest.mark.parametrize(("cls", "method"), [(HalfSAC, "predict"), (ScaledSACChild, "scale_action")])
def test_algorithm_subclass_overriding_predict_is_refused(tmp_path: Path, cls: type,
                                                          method: str) -> None:
    with pytest.raises(UnsupportedError, match=rf"{cls.__name__}.*overrides {method}"):
        export_policy(_sac_of(cls), tmp_path / "p.mat")
    assert list(tmp_path.iterdir()) == []


def test_policy_subclass_overriding_forward_is_refused_naming_the_method() -> None:
    from stable_baselines3.sac.policies import MlpPolicy

    class DoublePolicy(MlpPolicy):
        def _predict(self, observation: th.Tensor, deterministic: bool = False) -> th.Tensor:
            return 2 * super()._predict(observation, deterministic)

    model = _sac_of(SAC)
    model.policy.__class__ = DoublePolicy
    with pytest.raises(UnsupportedError, match=r"DoublePolicy.*overrides _predict"):
        find_extractor(model)


def test_instance_attribute_overriding_predict_is_refused() -> None:
    model = _sac_of(SAC)
    model.predict = lambda *a, **k: (np.zeros(2), None)  # type: ignore[method-assign]
    with pytest.raises(UnsupportedError, match="predict"):
        find_extractor(model)


def test_subclasses_that_do_not_override_still_resolve(tmp_path: Path) -> None:
    from stable_baselines3 import DDPG

    for model in (_sac_of(PlainSAC), _sac_of(ScaledSAC),
                  DDPG("MlpPolicy", SpaceEnv(OBS, ACT), buffer_size=10,
                       policy_kwargs={"net_arch": [4]})):
        export_policy(model, tmp_path / "p.mat")
    her = SAC("MultiInputPolicy", BitFlippingEnv(n_bits=4, continuous=True), buffer_size=100,
              replay_buffer_class=HerReplayBuffer, policy_kwargs={"net_arch": [4]})
    export_policy(her, tmp_path / "her.mat")


def test_a_registered_extractor_for_the_exact_class_allows_the_override(tmp_path: Path) -> None:
    from sb3_matlab_callback.translate.extractors import registry
    from sb3_matlab_callback.translate.extractors.sac import sac

    registry.register_extractor(HalfSAC)(sac)
    try:
        find_extractor(_sac_of(HalfSAC))
    finally:
        del registry._EXTRACTORS[HalfSAC], registry._POLICIES[HalfSAC]


# --- 5. run_id in the manifest ---------------------------------------------------------------


def test_manifest_carries_a_run_id_per_training_start(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    untrained_sac().learn(200, callback=MatlabExportCallback(100, folder))
    first = read_manifest(folder)
    run_id = first["run_id"]
    assert re.fullmatch(r"[0-9a-f]{16,}", run_id)
    assert [c["run_id"] for c in first["checkpoints"]] == [run_id, run_id]
    untrained_sac().learn(100, callback=MatlabExportCallback(100, folder))
    second = read_manifest(folder)
    assert second["run_id"] != run_id
    assert [c["run_id"] for c in second["checkpoints"]] == [run_id, run_id, second["run_id"]]


# --- 6. A relative save_path and chdir ------------------------------------------------------


class _Chdir(BaseCallback):
    def __init__(self, at: int, to: Path) -> None:
        super().__init__()
        self.at, self.to = at, to

    def _on_step(self) -> bool:
        if self.n_calls == self.at:
            os.chdir(self.to)
        return True


def test_relative_save_path_is_resolved_once_at_training_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    callback = MatlabExportCallback(100, "exports/run")
    untrained_sac().learn(300, callback=CallbackList([_Chdir(150, tmp_path / "b"), callback]))
    assert versions(tmp_path / "a" / "exports" / "run") == [1, 2, 3]
    assert not (tmp_path / "b" / "exports").exists()
    assert callback.save_path == tmp_path / "a" / "exports" / "run"


# --- 7. The .lock file and symlinks ---------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="POSIX symlinks")
def test_symlinked_lock_file_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    target = tmp_path / "precious.txt"
    target.write_bytes(b"do not overwrite me\n")
    (folder / LOCK_NAME).symlink_to(target)
    with pytest.raises(ExportFolderError, match=r"\.lock.*not a regular file"):
        FolderLock.acquire(folder)
    model = untrained_sac()
    with pytest.raises(ExportFolderError, match="regular file"):
        model.learn(100, callback=MatlabExportCallback(10, folder))
    assert target.read_bytes() == b"do not overwrite me\n"
    dangling = tmp_path / "dangling"
    dangling.mkdir()
    (dangling / LOCK_NAME).symlink_to(tmp_path / "created.txt")
    with pytest.raises(ExportFolderError, match="regular file"):
        FolderLock.acquire(dangling)
    assert not (tmp_path / "created.txt").exists()


def test_a_lock_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).mkdir()
    with pytest.raises(ExportFolderError, match=r"\.lock"):
        FolderLock.acquire(tmp_path)


# --- 8. An interrupted learn() ---------------------------------------------------------------


class _Raise(BaseCallback):
    def __init__(self, at: int, error: BaseException) -> None:
        super().__init__()
        self.at, self.error = at, error

    def _on_step(self) -> bool:
        if self.n_calls == self.at:
            raise self.error
        return True


def _writer_threads(folder: Path) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"matlab-export-{folder.name}"]


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_new_callback_resumes_after_an_interrupted_learn(tmp_path: Path,
                                                           error: BaseException) -> None:
    folder = tmp_path / "run"
    model = untrained_sac()
    first = MatlabExportCallback(100, folder)
    with pytest.raises(type(error)):
        model.learn(1000, callback=CallbackList([first, _Raise(250, error)]))
    # a notebook cell run again: a new callback on the same folder, same process
    model.learn(200, callback=MatlabExportCallback(100, folder), reset_num_timesteps=False)
    assert versions(folder) == [1, 2, 3, 4]
    assert not _writer_threads(folder)
    assert first.export_folder is None or not first.export_folder.is_open
    check_folder(folder)


def test_an_abandoned_callback_releases_its_folder_when_collected(tmp_path: Path) -> None:
    import gc

    folder = tmp_path / "run"
    callback = MatlabExportCallback(100, folder)
    callback.init_callback(untrained_sac())  # started, never ended, then dropped
    with pytest.raises(ExportFolderError):
        FolderLock.acquire(folder)
    del callback
    gc.collect()
    FolderLock.acquire(folder).release()
    assert not _writer_threads(folder)


def test_a_live_writer_in_another_thread_is_still_refused(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    started, done = threading.Event(), threading.Event()
    holder = MatlabExportCallback(100, folder)
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            holder.init_callback(untrained_sac())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        started.set()
        done.wait(60)
        holder.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        started.wait(60)
        assert not errors
        with pytest.raises(ExportFolderError, match="this process"):
            untrained_sac().learn(100, callback=MatlabExportCallback(100, folder))
    finally:
        done.set()
        thread.join()


def test_two_callbacks_on_one_folder_in_one_learn_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    with pytest.raises(ExportFolderError, match="this process"):
        untrained_sac().learn(100, callback=CallbackList([MatlabExportCallback(50, folder),
                                                          MatlabExportCallback(50, folder)]))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"verbose": -1}, "verbose"),
    ({"verbose": "loud"}, "verbose"),
    ({"max_pending": 0}, "max_pending"),
    ({"max_pending": 65}, "max_pending"),
    ({"background": "yes"}, "background"),
    ({"save_freq": 2.5}, "save_freq"),
    ({"save_freq": True}, "save_freq"),
    ({"keep_last": np.float64(2)}, "keep_last"),
    ({"save_path": ""}, "save_path"),
    ({"name_prefix": "p" * 250}, "name_prefix.*255"),
])
def test_every_argument_is_checked_before_the_folder_is_touched(tmp_path: Path, kwargs: dict,
                                                                message: str) -> None:
    args = {"save_freq": 10, "save_path": tmp_path / "run", **kwargs}
    with pytest.raises(ValueError, match=message):
        MatlabExportCallback(**args)
    assert not (tmp_path / "run").exists()


def test_numpy_integers_are_accepted(tmp_path: Path) -> None:
    callback = MatlabExportCallback(np.int64(100), tmp_path / "run", keep_last=np.int32(2),
                                    max_pending=np.int16(3), verbose=np.int8(0))
    untrained_sac().learn(300, callback=callback)
    assert versions(tmp_path / "run") == [2, 3]
    assert type(callback.save_freq) is int and type(callback.keep_last) is int
    assert json.loads((tmp_path / "run" / MANIFEST_NAME).read_text())["run"]["save_freq"] == 100


def test_longest_name_prefix_that_fits_a_file_name(tmp_path: Path) -> None:
    longest = "p" * (255 - len("_v000001.mat"))
    MatlabExportCallback(10, tmp_path / "run", name_prefix=longest)
    with pytest.raises(ValueError, match="name_prefix"):
        MatlabExportCallback(10, tmp_path / "run", name_prefix=longest + "p")


# --- 9. Hostile manifests ---------------------------------------------------------------------


def test_deeply_nested_manifest_raises_manifest_error(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ManifestError, match="nest"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text('{"a": ' * 10_000 + "1" + "}" * 10_000)
    with pytest.raises(ManifestError, match="nest"):
        read_manifest(tmp_path)


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path: Path) -> None:
    from sb3_matlab_callback.deliver.manifest import json_depth

    assert json_depth(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"{{{{{{"}') == 1
    assert json_depth(b'[[1], {"b": [2]}]') == 3


def test_oversized_manifest_raises_manifest_error(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest_module, "MAX_MANIFEST_BYTES", 100)
    (tmp_path / MANIFEST_NAME).write_text(" " * 101 + "{}")
    with pytest.raises(ManifestError, match="larger than 100 bytes"):
        read_manifest(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_named_manifest_json_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / MANIFEST_NAME)
    code = ("import sys\nfrom sb3_matlab_callback import read_manifest, ManifestError\n"
            f"try:\n    read_manifest({str(tmp_path)!r})\nexcept ManifestError as e:\n"
            "    print(e)\n    sys.exit(3)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert "not a regular file" in proc.stdout


# --- 11. The command line on HER and frame-stacked models --------------------------------------


def test_cli_exports_a_model_trained_with_her(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    env = BitFlippingEnv(n_bits=4, continuous=True)
    model = SAC("MultiInputPolicy", env, replay_buffer_class=HerReplayBuffer, buffer_size=100,
                policy_kwargs={"net_arch": [8]}, seed=0)
    perturb(model)
    model.save(tmp_path / "her.zip")
    code = cli_main(["export", str(tmp_path / "her.zip"), str(tmp_path / "her.mat"), "--algo", "SAC"])
    assert code == 0, capsys.readouterr().err
    bundle = load_bundle(tmp_path / "her.mat")
    obs = bundle["reference"]["observations"]
    assert_same_actions(bundle, _predict(model, obs), atol=1e-6)


def _frame_stacked(tmp_path: Path) -> tuple[SAC, VecNormalize]:
    inner = _set_stats(_pendulum_venv(clip_obs=2.5))
    model = tiny_sac(VecFrameStack(inner, 3), learning_starts=100_000)
    perturb(model)
    model.save(tmp_path / "fs.zip")
    inner.save(tmp_path / "vecnormalize.pkl")  # rl-zoo3: VecNormalize inside VecFrameStack
    return model, inner


def test_cli_refuses_one_frames_statistics_of_a_frame_stacked_model_saying_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The stack holds normalized frames (zeros after a reset): raw stacks cannot be normalized
    exactly from the files alone, so the command line refuses and names the way that works."""
    _frame_stacked(tmp_path)
    code = cli_main(["export", str(tmp_path / "fs.zip"), str(tmp_path / "fs.mat"), "--algo", "SAC",
                     "--vecnormalize", str(tmp_path / "vecnormalize.pkl")])
    err = capsys.readouterr().err
    assert code == 1
    assert "(3,)" in err and "(9,)" in err and "VecFrameStack" in err and "env=" in err
    assert "Traceback" not in err and "AssertionError" not in err
    assert not (tmp_path / "fs.mat").exists()


def test_cli_refuses_statistics_of_another_shape_with_a_clear_message(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = tiny_sac(SpaceEnv(box(-1, 1, (4,)), ACT))
    model.save(tmp_path / "m.zip")
    _pendulum_venv().save(tmp_path / "vn.pkl")
    code = cli_main(["export", str(tmp_path / "m.zip"), str(tmp_path / "m.mat"), "--algo", "SAC",
                     "--vecnormalize", str(tmp_path / "vn.pkl")])
    err = capsys.readouterr().err
    assert code == 1
    assert "(3,)" in err and "(4,)" in err and "Traceback" not in err
    assert not (tmp_path / "m.mat").exists()


# --- 12. MAT v5 variable size limit -----------------------------------------------------------


def test_network_too_large_for_mat_v5_is_refused_with_the_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = untrained_sac()
    size = bundle_module.mat_variable_bytes(build_bundle(model)["ops"])
    assert size > sum(p.numel() * 8 for p in model.policy.actor.parameters()) // 2
    monkeypatch.setattr(bundle_module, "MAT_V5_MAX_VARIABLE_BYTES", size - 1)
    with pytest.raises(BundleError, match=r"'ops'.*MAT v5.*2 GiB") as info:
        export_policy(model, tmp_path / "p.mat")
    assert str(size) in str(info.value)
    assert not (tmp_path / "p.mat").exists()
    with pytest.raises(BundleError, match="MAT v5"):  # the callback: before the first step
        model.learn(10, callback=MatlabExportCallback(5, tmp_path / "run"))
    assert model.num_timesteps == 0


def test_size_estimate_bounds_the_encoded_size() -> None:
    bundle = build_bundle(untrained_sac())
    encoded = encode_bundle(bundle)  # compressed: at most the uncompressed size
    assert bundle_module.mat_variable_bytes(bundle["ops"]) >= len(encoded) / 2


# --- 13. Smaller ones -------------------------------------------------------------------------


def test_info_on_an_empty_program(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bundle = build_bundle(tiny_ppo(SpaceEnv(OBS, gym.spaces.Discrete(3))))
    bundle["ops"] = np.empty((1, 0), dtype=object)
    atomic_write_bytes(tmp_path / "empty.mat", encode_bundle(bundle))
    assert cli_main(["info", str(tmp_path / "empty.mat")]) == 0
    assert "program: 0 ops" in capsys.readouterr().out


def test_another_env_id_in_the_same_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    untrained_sac().learn(100, callback=MatlabExportCallback(100, folder))
    model = untrained_sac("MountainCarContinuous-v0")
    with pytest.raises(ExportFolderError, match=r"Pendulum-v1.*MountainCarContinuous-v0"):
        model.learn(100, callback=MatlabExportCallback(100, folder))
    assert versions(folder) == [1] and model.num_timesteps == 0


def test_unknown_env_id_with_other_spaces_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    untrained_sac().learn(100, callback=MatlabExportCallback(100, folder))
    model = untrained_sac(SpaceEnv(OBS, ACT))  # no Gymnasium id
    with pytest.raises(ExportFolderError, match=r"Pendulum-v1.*no Gymnasium id"):
        model.learn(100, callback=MatlabExportCallback(100, folder))
    same_spaces = untrained_sac(SpaceEnv(gym.make("Pendulum-v1").observation_space,
                                         gym.make("Pendulum-v1").action_space))
    same_spaces.learn(100, callback=MatlabExportCallback(100, folder))  # unknown but compatible
    assert versions(folder) == [1, 2]


def _failing(names: set[str]) -> Any:
    def write(path: Path, data: bytes, **kwargs: Any) -> None:
        if Path(path).name in names:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        atomic_write_bytes(path, data, **kwargs)
    return write


def test_versions_of_failed_exports_are_never_reused(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    callback = MatlabExportCallback(100, folder, on_error="warn")
    callback._write_file = _failing({"policy_v000003.mat"})
    with pytest.warns(ExportWarning, match="version 3"):
        untrained_sac().learn(300, callback=callback)  # 3 failed; nothing committed after it
    assert versions(folder) == [1, 2]
    untrained_sac().learn(100, callback=MatlabExportCallback(100, folder))
    assert versions(folder) == [1, 2, 4]
    check_folder(folder)


def test_failed_versions_are_skipped_after_a_crash_too(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    callback = MatlabExportCallback(100, folder, on_error="warn")
    callback._write_file = _failing({"policy_v000002.mat", "policy_v000003.mat"})
    with pytest.warns(ExportWarning):
        untrained_sac().learn(400, callback=callback)
    assert versions(folder) == [1, 4]
    assert read_manifest(folder)["next_version"] == 5
    opened = ExportFolder(folder).open("SAC")
    try:
        assert opened.next_version == 5
    finally:
        opened.close()


def test_failed_first_exports_are_skipped_too(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    callback = MatlabExportCallback(100, folder, on_error="warn")
    callback._write_file = _failing({"policy_v000001.mat"})
    with pytest.warns(ExportWarning, match="version 1"):
        untrained_sac().learn(100, callback=callback)
    assert read_manifest(folder) is None
    untrained_sac().learn(100, callback=MatlabExportCallback(100, folder))
    assert versions(folder) == [2]


def test_warnings_module_is_quiet_for_a_clean_run(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExportWarning)
        untrained_sac().learn(100, callback=MatlabExportCallback(100, tmp_path / "run"))
