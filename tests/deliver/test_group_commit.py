"""Sustained exports (issue #9): group commits, and the runtime copied off the training thread.

When exports come faster than the worker writes them, it writes each bundle file as it is
built and replaces the manifest once for the whole group. Every version is still
committed, in order; a failed manifest replace fails the whole group and leaves no orphan.
"""

from __future__ import annotations

import errno
import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest
from delivery_helpers import check_folder, stray_files, tiny_sac, versions

from sb3_matlab_callback import MatlabExportCallback
from sb3_matlab_callback.deliver.export_folder import ExportFolder
from sb3_matlab_callback.deliver.manifest import MANIFEST_NAME
from sb3_matlab_callback.deliver.writer import atomic_write_bytes
from sb3_matlab_callback.errors import ExportError, ExportWarning


def untrained_sac() -> Any:
    return tiny_sac(learning_starts=100_000)


class _Recorder:
    """The callback's file writer, recording each manifest it commits (slow: exports pile up)."""

    def __init__(self, delay: float = 0.0, fail_listing: str | None = None) -> None:
        self.delay, self.fail_listing = delay, fail_listing
        self.manifests: list[list[int]] = []

    def __call__(self, path: Path, data: bytes, **kwargs: Any) -> None:
        if Path(path).name == MANIFEST_NAME:
            time.sleep(self.delay)
            listed = [c["version"] for c in json.loads(data)["checkpoints"]]
            if self.fail_listing is not None and self.fail_listing.encode() in data:
                self.fail_listing = None  # once
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            self.manifests.append(listed)
        atomic_write_bytes(path, data, **kwargs)


def test_back_to_back_exports_share_manifest_commits_and_all_are_committed(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    recorder = _Recorder(delay=0.05)
    callback = MatlabExportCallback(2, folder)
    callback._write_file = recorder
    untrained_sac().learn(120, callback=callback)
    assert versions(folder) == list(range(1, 61))
    assert [c.version for c in callback.committed] == list(range(1, 61))
    assert len(recorder.manifests) < 60  # grouped: fewer manifest replaces than exports
    latest = [0] + [listed[-1] for listed in recorder.manifests]
    assert max(b - a for a, b in itertools.pairwise(latest)) > 1  # one manifest added several
    check_folder(folder)  # every listed file present, sha256 and size right
    assert stray_files(folder) == set()


def test_group_respects_keep_last(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    callback = MatlabExportCallback(2, folder, keep_last=3)
    callback._write_file = _Recorder(delay=0.05)
    untrained_sac().learn(80, callback=callback)
    assert versions(folder) == [38, 39, 40]
    assert sorted(p.name for p in folder.glob("*.mat")) == [
        "policy_v000038.mat", "policy_v000039.mat", "policy_v000040.mat"]
    assert stray_files(folder) == set()


def test_failed_group_manifest_fails_each_version_of_the_group(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    recorder = _Recorder(delay=0.05, fail_listing="policy_v000005.mat")
    callback = MatlabExportCallback(2, folder, on_error="warn")
    callback._write_file = recorder
    with pytest.warns(ExportWarning, match="No space left on device") as record:
        untrained_sac().learn(80, callback=callback)
    failed = sorted(int(str(w.message).split("version ")[1].split()[0]) for w in record)
    listed = versions(folder)
    assert 5 in failed and not set(failed) & set(listed)
    assert sorted(failed + listed) == list(range(1, 41))  # each version committed or reported
    assert listed[-1] == 40 and stray_files(folder) == set()
    assert not any((folder / f"policy_v{v:06d}.mat").exists() for v in failed)


def test_runtime_is_copied_before_the_first_manifest_lists_a_bundle(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    seen: list[bool] = []

    def write(path: Path, data: bytes, **kwargs: Any) -> None:
        if Path(path).name == MANIFEST_NAME:
            seen.append((folder / "matlab" / "+sb3" / "load_policy.m").is_file())
        atomic_write_bytes(path, data, **kwargs)

    callback = MatlabExportCallback(2, folder)
    callback._write_file = write
    untrained_sac().learn(20, callback=callback)
    assert seen and all(seen)
    assert (folder / "matlab" / "+sb3" / "+internal" / "compile_op.m").is_file()
    assert stray_files(folder) == set()


def test_a_failed_runtime_copy_raises_and_commits_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    (folder / "matlab").mkdir(parents=True)
    (folder / "matlab" / "+sb3").write_text("not a folder")  # the runtime's package folder
    with pytest.raises(ExportError, match="Cannot copy the MATLAB runtime"):
        untrained_sac().learn(20, callback=MatlabExportCallback(2, folder))
    assert not (folder / MANIFEST_NAME).exists()
    assert sorted(p.name for p in folder.glob("*.mat")) == []


def test_export_folder_group_commit_is_one_manifest_replace(tmp_path: Path) -> None:
    recorder = _Recorder()
    folder = ExportFolder(tmp_path / "run", write_file=recorder).open("SAC")
    bundle = {"version": 1.0, "num_timesteps": 10.0, "format": "x"}
    try:
        for version in (1, 2, 3):
            folder.stage({**bundle, "version": float(version)})
        assert folder.staged == 3 and recorder.manifests == []
        committed = folder.commit_staged()
    finally:
        folder.close()
    assert [c.version for c in committed] == [1, 2, 3]
    assert recorder.manifests == [[1, 2, 3]]
