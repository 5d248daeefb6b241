"""Crash safety with real processes: SIGKILL at random moments, and crashes at each stage
of the commit protocol. After each crash the folder must be consistent (manifest parses,
every listed file exists, matches its sha256 and loads, also in Octave); a clean rerun
continues the numbering and leaves no orphan file."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from delivery_helpers import (
    check_folder,
    octave_check_folder,
    run_training,
    stray_files,
    train_command,
    versions,
)

from sb3_matlab_callback.deliver.manifest import MANIFEST_NAME
from sb3_matlab_callback.deliver.writer import TEMP_PREFIX

KILLS = 8


def _wait_for_new_export(folder: Path, proc: subprocess.Popen, after: int,
                         timeout: float = 60) -> None:
    """Wait until the process commits a version above ``after`` (or dies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if max(versions(folder), default=0) > after:
                return
        except Exception:  # a parse error here is for check_folder to report
            pass
        time.sleep(0.02)
    raise AssertionError(f"no new export above version {after} within {timeout} s")


def _assert_consistent(folder: Path, workdir: Path) -> dict:
    manifest = check_folder(folder)  # parses; listed files exist, match sha256, load
    listed = [c["version"] for c in manifest["checkpoints"]]
    octave = octave_check_folder(folder, workdir)
    seen = octave["versions"] if isinstance(octave["versions"], list) else [octave["versions"]]
    assert seen == listed
    errs = octave["errs"] if isinstance(octave["errs"], list) else [octave["errs"]]
    assert max(errs) <= 1e-4
    assert octave["latest"] == manifest["latest"]
    return manifest


@pytest.mark.octave
@pytest.mark.slow
def test_sigkill_at_random_moments_never_breaks_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    rng = random.Random(1234)
    latest = 0
    for kill in range(KILLS):
        # An export at every step with retention: the writer is never idle (back-pressure),
        # so kills land in every stage of the commit protocol; about 1 in 3 leaves a temp
        # file or an uncommitted bundle behind.
        proc = subprocess.Popen(train_command(folder, "--timesteps", "100000", "--save-freq", "1",
                                              "--keep-last", "4", "--seed", str(kill)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            _wait_for_new_export(folder, proc, latest)
            time.sleep(rng.uniform(0.0, 0.6))
            assert proc.poll() is None, proc.stderr.read()
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
        assert proc.returncode == -signal.SIGKILL
        manifest = _assert_consistent(folder, tmp_path / f"octave{kill}")
        assert manifest["latest"] > latest  # every run committed something new
        latest = manifest["latest"]
    # A clean rerun continues the numbering and cleans up what the kills left behind.
    result = run_training(folder, "--timesteps", "60", "--save-freq", "20", "--keep-last", "4")
    assert result.returncode == 0, result.stderr
    manifest = _assert_consistent(folder, tmp_path / "octave-final")
    assert manifest["checkpoints"][0]["version"] > latest
    assert stray_files(folder) == set()


@pytest.mark.octave
@pytest.mark.parametrize(("stage", "leaves"), [
    ("write:3", "a half-written temp file"),        # mid-write of the 2nd bundle
    ("write:4", "a bundle the manifest does not list"),  # mid-write of the 2nd manifest
    ("bundle:2", "a bundle the manifest does not list"),
    ("manifest:3", "a file retention had not deleted"),
])
def test_crash_at_each_stage_of_the_commit_protocol(tmp_path: Path, stage: str,
                                                    leaves: str) -> None:
    folder = tmp_path / "run"
    result = run_training(folder, "--timesteps", "400", "--save-freq", "20", "--keep-last", "2",
                          "--crash-at", stage)
    assert result.returncode == 9, result.stderr  # crashed where asked
    strays = stray_files(folder)
    assert strays, f"expected {leaves}"
    if stage.startswith("write"):
        assert any(TEMP_PREFIX in name for name in strays)
    manifest = _assert_consistent(folder, tmp_path / "octave")
    before = manifest["latest"]
    result = run_training(folder, "--timesteps", "40", "--save-freq", "20", "--keep-last", "2")
    assert result.returncode == 0, result.stderr
    after = check_folder(folder)
    assert after["checkpoints"][0]["version"] > before
    # never reuse a file name, not even one that was written but never committed
    names = {p.name for p in folder.glob("*.mat")}
    assert names == {c["file"] for c in after["checkpoints"]}
    assert stray_files(folder) == set()
    assert (folder / MANIFEST_NAME).exists()
