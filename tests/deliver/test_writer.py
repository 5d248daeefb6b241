"""writer.py: atomic writes, rename retry, the folder lock, temp cleanup, the worker thread."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from sb3_matlab_callback.deliver.writer import (
    FILE_MODE,
    LOCK_NAME,
    RENAME_ATTEMPTS,
    TEMP_PREFIX,
    BackgroundWriter,
    FolderLock,
    atomic_write_bytes,
    remove_temp_files,
    replace_with_retry,
)
from sb3_matlab_callback.errors import ExportFolderError


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]
    assert stat.S_IMODE(target.stat().st_mode) == FILE_MODE  # readable by others, not 0600


def test_exclusive_write_never_rewrites_a_committed_file(tmp_path: Path) -> None:
    target = tmp_path / "policy_v000001.mat"
    atomic_write_bytes(target, b"committed", exclusive=True)
    with pytest.raises(FileExistsError, match="never rewritten"):
        atomic_write_bytes(target, b"other", exclusive=True)
    assert target.read_bytes() == b"committed"
    assert list(tmp_path.glob(f"{TEMP_PREFIX}*")) == []


def test_failed_write_removes_temp_and_keeps_target(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    atomic_write_bytes(target, b"good")

    class Boom:
        def __len__(self) -> int:
            return 1

    with pytest.raises(TypeError):
        atomic_write_bytes(target, Boom())  # type: ignore[arg-type]
    assert target.read_bytes() == b"good"
    assert list(tmp_path.glob(f"{TEMP_PREFIX}*")) == []


def test_rename_retry_survives_transient_errors_with_bounded_backoff(tmp_path: Path) -> None:
    src, dst = tmp_path / "a", tmp_path / "b"
    src.write_bytes(b"x")
    failures, sleeps = [PermissionError(13, "sharing violation")] * 3, []

    def flaky_replace(a: object, b: object) -> None:
        if failures:
            raise failures.pop()
        os.replace(a, b)

    replace_with_retry(src, dst, transient=(PermissionError,), replace=flaky_replace,
                       sleep=sleeps.append)
    assert dst.read_bytes() == b"x"
    assert sleeps == [0.01, 0.02, 0.04]


def test_rename_retry_gives_up_after_bounded_attempts() -> None:
    sleeps: list[float] = []
    calls = []

    def always_locked(a: object, b: object) -> None:
        calls.append(1)
        raise PermissionError(13, "sharing violation")

    with pytest.raises(PermissionError):
        replace_with_retry("a", "b", transient=(PermissionError,), replace=always_locked,
                           sleep=sleeps.append)
    assert len(calls) == RENAME_ATTEMPTS
    assert sum(sleeps) < 4.0 and max(sleeps) <= 0.5


def test_rename_errors_that_are_not_transient_raise_at_once() -> None:
    calls = []

    def missing(a: object, b: object) -> None:
        calls.append(1)
        raise FileNotFoundError(2, "gone")

    with pytest.raises(FileNotFoundError):
        replace_with_retry("a", "b", transient=(PermissionError,), replace=missing,
                           sleep=lambda s: None)
    assert len(calls) == 1


def test_folder_lock_refuses_a_second_writer_in_the_same_process(tmp_path: Path) -> None:
    lock = FolderLock.acquire(tmp_path)
    with pytest.raises(ExportFolderError, match=rf"in use by another writer \(PID {os.getpid()}"):
        FolderLock.acquire(tmp_path)
    lock.release()
    lock.release()  # idempotent
    FolderLock.acquire(tmp_path).release()
    assert (tmp_path / LOCK_NAME).exists()


def test_folder_lock_names_the_other_process_and_dies_with_it(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from sb3_matlab_callback.deliver.writer import FolderLock
            lock = FolderLock.acquire({str(tmp_path)!r})
            print('locked', flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        start = time.monotonic()
        with pytest.raises(ExportFolderError, match=rf"PID {holder.pid}\b") as info:
            FolderLock.acquire(tmp_path)
        assert time.monotonic() - start < 1.0  # fails fast, does not wait
        assert str(tmp_path) in str(info.value)
    finally:
        holder.kill()
        holder.wait()
    FolderLock.acquire(tmp_path).release()  # the OS dropped the dead holder's lock


def test_remove_temp_files_only_touches_temp_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    stale = [tmp_path / f"{TEMP_PREFIX}abc.mat", tmp_path / "sub" / f"{TEMP_PREFIX}x.tmp"]
    keep = [tmp_path / "policy_v000001.mat", tmp_path / "notes.txt"]
    for path in stale + keep:
        path.write_bytes(b"x")
    assert set(remove_temp_files(tmp_path)) == {stale[0]}
    assert set(remove_temp_files(tmp_path, recursive=True)) == {stale[1]}
    assert all(p.exists() for p in keep) and not any(p.exists() for p in stale)


def test_background_writer_runs_in_order_and_reports_errors() -> None:
    writer = BackgroundWriter(max_pending=2)
    order: list[int] = []
    gate = threading.Event()

    def task(i: int) -> int:
        gate.wait(5)
        if i == 2:
            raise OSError(28, "No space left on device")
        order.append(i)
        return i

    for i in range(4):
        if i == 3:
            gate.set()  # the queue holds 2; the 4th submit waits (back-pressure)
        writer.submit(lambda i=i: task(i))
    writer.flush()
    outcomes = writer.drain()
    assert order == [0, 1, 3]
    assert [o.value for o in outcomes] == [0, 1, None, 3]
    assert outcomes[2].error is not None and outcomes[2].error.errno == 28
    assert writer.drain() == []
    writer.close()
    assert not writer.alive
    with pytest.raises(RuntimeError):
        writer.submit(lambda: None)


def test_background_writer_close_finishes_pending_tasks() -> None:
    writer = BackgroundWriter(max_pending=8)
    done: list[int] = []
    for i in range(5):
        writer.submit(lambda i=i: (time.sleep(0.02), done.append(i)))
    writer.close()
    assert done == [0, 1, 2, 3, 4]
