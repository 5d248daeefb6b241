"""``coalesce=True`` (issue #9, optional): freshness over completeness when the writer falls behind.

A snapshot still waiting for the background writer is replaced by the next one (newest
wins); versions are numbered when the writer takes a snapshot, so they stay gap-free, and
the last state of training is always committed. Checked on real SAC training with a slow
file writer, against SB3's own ``predict()`` of the final model.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from delivery_helpers import check_folder, stray_files, tiny_sac, versions

from sb3_matlab_callback import MatlabExportCallback
from sb3_matlab_callback.bundle.bundle import load_bundle
from sb3_matlab_callback.deliver.manifest import read_manifest
from sb3_matlab_callback.deliver.writer import atomic_write_bytes


def _slow_writer(delay: float):
    """The callback's file writer, slowed down: the worker falls behind the exports."""
    def write(path: Path, data: bytes, **kwargs: Any) -> None:
        time.sleep(delay)
        atomic_write_bytes(path, data, **kwargs)
    return write


@pytest.fixture(scope="module")
def coalesced_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("coalesce") / "run"
    model = tiny_sac(learning_starts=20)
    callback = MatlabExportCallback(2, folder, coalesce=True)
    callback._write_file = _slow_writer(0.03)
    model.learn(160, callback=callback)
    return {"folder": folder, "model": model, "callback": callback,
            "manifest": read_manifest(folder)}


def test_versions_are_gap_free_and_fewer_than_the_snapshots(coalesced_run: dict[str, Any]) -> None:
    callback, folder = coalesced_run["callback"], coalesced_run["folder"]
    listed = versions(folder)
    assert listed == list(range(1, len(listed) + 1))
    assert [c.version for c in callback.committed] == listed
    assert callback.coalesced > 0, "the slow writer must have fallen behind"
    snapshots = len(callback.stalls)
    assert len(listed) + callback.coalesced == snapshots  # each snapshot committed or replaced
    check_folder(folder)  # every listed file present, sha256 and size right, its own version
    assert stray_files(folder) == set()


def test_newer_snapshots_win_and_the_last_state_is_committed(coalesced_run: dict[str, Any]) -> None:
    entries = coalesced_run["manifest"]["checkpoints"]
    steps = [e["num_timesteps"] for e in entries]
    assert all(a < b for a, b in itertools.pairwise(steps))
    assert steps[-1] == coalesced_run["model"].num_timesteps
    assert max(b - a for a, b in itertools.pairwise(steps)) > 2  # some snapshots were skipped


def test_the_last_version_acts_as_the_final_model(coalesced_run: dict[str, Any]) -> None:
    """Its reference actions (SB3's predict on the snapshot) are the final model's."""
    folder, model = coalesced_run["folder"], coalesced_run["model"]
    bundle = load_bundle(folder / coalesced_run["manifest"]["checkpoints"][-1]["file"])
    obs = np.asarray(bundle["reference"]["observations"], dtype=np.float32)
    expected, _ = model.predict(obs, deterministic=True)
    np.testing.assert_allclose(np.asarray(bundle["reference"]["actions"]).reshape(expected.shape),
                               expected, atol=1e-6, rtol=0)


def test_default_mode_still_commits_every_snapshot(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    callback = MatlabExportCallback(2, folder)
    callback._write_file = _slow_writer(0.01)
    tiny_sac(learning_starts=100_000).learn(40, callback=callback)
    assert callback.coalesced == 0
    assert versions(folder) == list(range(1, 21))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"coalesce": True, "background": False}, "coalesce=True needs background=True"),
    ({"coalesce": "yes"}, "coalesce must be True or False"),
])
def test_bad_coalesce_arguments_fail_at_construction(tmp_path: Path, kwargs: dict[str, Any],
                                                     message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MatlabExportCallback(2, tmp_path / "run", **kwargs)
    assert not (tmp_path / "run").exists()
