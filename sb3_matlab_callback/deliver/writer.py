"""Crash-safe file writing and the machinery around it.

- :func:`atomic_write_bytes`: temp file in the same folder, flush, fsync, atomic rename
  (retried with bounded backoff where Windows readers can block it), fsync the folder.
- :class:`FolderLock`: one writer per export folder (``flock``, ``msvcrt`` on Windows).
- :func:`remove_temp_files`: clean up what a crashed writer left behind.
- :class:`BackgroundWriter`: one worker thread that runs write tasks in order.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import errno
import os
import queue
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ExportFolderError

TEMP_PREFIX = ".sb3mat-tmp-"
#: mkstemp creates 0600 files; committed files get the usual 0666 less the umask instead,
#: so a MATLAB session of another user (or on a shared folder) can read them.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
LOCK_NAME = ".lock"
#: Renames retried on a transient error: at most this many tries ...
RENAME_ATTEMPTS = 10
#: ... waiting this long before the second, doubling up to ``RENAME_MAX_DELAY`` (about 3 s in all).
RENAME_FIRST_DELAY = 0.01
RENAME_MAX_DELAY = 0.5
#: Errors a rename can raise for a moment: on Windows, renaming over a file that a
#: reader holds open fails with a sharing violation (``PermissionError``).
TRANSIENT_RENAME_ERRORS: tuple[type[OSError], ...] = (PermissionError,) if os.name == "nt" else ()


def check_writable_folder(folder: Path) -> None:
    """Raise :class:`ExportFolderError` naming ``folder`` unless files can be created in it."""
    if not folder.is_dir():
        raise ExportFolderError(f"Export folder {str(folder)!r} does not exist or is not a folder.")
    try:
        fd, probe = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
    except OSError as exc:
        raise ExportFolderError(
            f"Export folder {str(folder)!r} is not writable: {exc.strerror or exc}."
        ) from exc
    os.close(fd)
    os.unlink(probe)


def atomic_write_bytes(path: Path, data: bytes, *, exclusive: bool = False,
                       temp_suffix: str | None = None, sync_folder: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see either nothing or the whole file.

    :param path: the file to write; its folder must exist.
    :param data: the complete content.
    :param exclusive: refuse (``FileExistsError``) when ``path`` exists, so a committed
        file is never rewritten.
    :param temp_suffix: the temp file's suffix; defaults to ``path``'s.
    :param sync_folder: fsync the folder after the rename. ``False`` leaves it to the
        caller, who must fsync the folder before anything that relies on the rename (a
        group commit fsyncs it once for several files, before the manifest lists them).
    :raises OSError: on any I/O failure; the temp file is removed and ``path`` untouched.
    """
    path = Path(path)
    tmp = write_temp_file(path, data, temp_suffix=temp_suffix)
    try:
        if exclusive and path.exists():
            raise FileExistsError(f"{str(path)!r} exists; a committed file is never rewritten.")
        replace_with_retry(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync_folder:
        fsync_folder(path.parent)


def write_temp_file(path: Path, data: bytes, *, temp_suffix: str | None = None) -> str:
    """Write ``data`` to a new temp file next to ``path``; flush and fsync it; return its name.

    The first half of :func:`atomic_write_bytes`: renaming it to ``path`` and fsyncing the
    folder are left to the caller, so several files can share one folder fsync.

    :raises OSError: on any I/O failure; the temp file is removed.
    """
    suffix = path.suffix if temp_suffix is None else temp_suffix
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), FILE_MODE)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def replace_with_retry(
    src: str | Path, dst: str | Path, *,
    transient: tuple[type[OSError], ...] | None = None,
    attempts: int = RENAME_ATTEMPTS,
    first_delay: float = RENAME_FIRST_DELAY,
    replace: Callable[[Any, Any], None] = os.replace,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """``os.replace(src, dst)``, retried with bounded exponential backoff on transient errors.

    :param transient: the error classes worth retrying; defaults to
        :data:`TRANSIENT_RENAME_ERRORS` (``PermissionError`` on Windows, none elsewhere).
    :param attempts: the most tries; the last error is raised after them.
    :param first_delay: the wait before the second try, doubled each time up to
        :data:`RENAME_MAX_DELAY`.
    :param replace: the rename function (a test hook).
    :param sleep: the wait function (a test hook).
    """
    transient = TRANSIENT_RENAME_ERRORS if transient is None else transient
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            replace(src, dst)
            return
        except transient:
            if attempt == attempts:
                raise
            sleep(delay)
            delay = min(2 * delay, RENAME_MAX_DELAY)


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_temp_files(folder: Path, *, recursive: bool = False) -> list[Path]:
    """Delete the temp files (:data:`TEMP_PREFIX`) that an interrupted writer left behind.

    Call it only while holding the folder's :class:`FolderLock`: another live writer's
    temp files are not stale.

    :param folder: the export folder.
    :param recursive: also look in sub-folders (the copied MATLAB runtime).
    :return: the files removed.
    """
    pattern = f"**/{TEMP_PREFIX}*" if recursive else f"{TEMP_PREFIX}*"
    removed = []
    for path in Path(folder).glob(pattern):
        if path.is_file():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


class FolderLock:
    """An exclusive, non-blocking lock on ``folder/.lock``: one writer per export folder.

    The operating system drops the lock when the holder dies, even by SIGKILL, so a
    crashed run never leaves a stale lock. The lock file itself stays (deleting it would
    let two writers lock two different files); it holds the PID of the last holder and
    the next version number to hand out (so a failed export's number is never reused).
    Locks are per open file, so a second writer in the same process is refused too.
    The lock file must be a regular file: a symlink is never followed.
    """

    def __init__(self, folder: Path, fd: int, next_version: int = 1) -> None:
        self.folder = folder
        self._fd: int | None = fd
        #: The next version recorded by the previous holder (1 if none).
        self.next_version = next_version

    @classmethod
    def acquire(cls, folder: Path) -> FolderLock:
        """Lock ``folder`` or fail at once.

        :raises ExportFolderError: naming the folder and the holder's PID when another
            writer holds it, or when the lock file cannot be created.
        """
        path = Path(folder) / LOCK_NAME
        fd = _open_lock_file(path)
        try:
            _lock_fd(fd)
        except OSError as exc:
            holder = _read_pid(fd)
            os.close(fd)
            raise ExportFolderError(
                f"Export folder {str(folder)!r} is in use by another writer "
                f"(PID {holder or 'unknown'}{', this process' if holder == os.getpid() else ''}). "
                "Only one MatlabExportCallback may write to a folder at a time: stop the other "
                "run or choose another save_path."
            ) from exc
        next_version = _read_next_version(fd)
        _write_pid(fd)
        return cls(Path(folder), fd, next_version)

    def record_next_version(self, next_version: int) -> None:
        """Record the next version to hand out in the lock file (no fsync: cheap)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.lseek(self._fd, _pid_offset() + _PID_BYTES, os.SEEK_SET)
                os.write(self._fd, f"{_NEXT_KEY} {int(next_version):<20}\n".encode())

    @property
    def held(self) -> bool:
        """Whether this object still holds the lock."""
        return self._fd is not None

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            _unlock_fd(fd)
        os.close(fd)


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock_fd(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock_fd(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    def _pid_offset() -> int:
        return 1  # byte 0 is the locked region; Windows refuses to read it from elsewhere
else:
    import fcntl

    def _lock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

    def _pid_offset() -> int:
        return 0


#: ``O_NOFOLLOW`` where the platform has it (POSIX); elsewhere ``lstat`` checks first.
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_PID_BYTES = 21
_NEXT_KEY = "next_version"


def _open_lock_file(path: Path) -> int:
    """Open (or create) the lock file without following a symlink; refuse anything else.

    :raises ExportFolderError: naming the file when it is a symlink, a folder, a FIFO or
        any other non-regular file, or cannot be created.
    """
    refused = ExportFolderError(
        f"Lock file {str(path)!r} is not a regular file (a symlink, folder, FIFO or device): "
        f"it is never followed or written. Remove it, or choose another save_path.")
    if not _NOFOLLOW and os.path.islink(path):  # pragma: no cover - Windows
        raise refused
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _NONBLOCK, 0o644)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO) or path.is_symlink():
            raise refused from exc
        raise ExportFolderError(
            f"Export folder {str(path.parent)!r} is not writable: cannot create {LOCK_NAME} "
            f"({exc.strerror or exc})."
        ) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise refused
    return fd


def _read_next_version(fd: int) -> int:
    """Return the next version a previous holder recorded (1 when none)."""
    try:
        os.lseek(fd, _pid_offset() + _PID_BYTES, os.SEEK_SET)
        words = os.read(fd, 64).decode("ascii", "replace").split()
    except OSError:
        return 1
    if len(words) >= 2 and words[0] == _NEXT_KEY and words[1].isdigit():
        return max(1, int(words[1]))
    return 1


def _write_pid(fd: int) -> None:
    # Fixed width, so a shorter PID never leaves digits of a longer one behind.
    with contextlib.suppress(OSError):
        os.lseek(fd, _pid_offset(), os.SEEK_SET)
        os.write(fd, f"{os.getpid():<20}\n".encode())


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, _pid_offset(), os.SEEK_SET)
        text = os.read(fd, 21).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


@dataclass
class Outcome:
    """What one background task gave: its ``value`` or its ``error``."""

    value: Any = None
    error: BaseException | None = None


class BackgroundWriter:
    """One daemon thread that runs tasks in the order they were submitted.

    Outcomes (values and errors) queue up for the submitting thread to :meth:`drain`.
    At most ``max_pending`` tasks wait; :meth:`submit` blocks beyond that (back-pressure
    instead of unbounded memory). Pending tasks are flushed at interpreter exit.

    :param name: the thread's name.
    :param max_pending: how many submitted tasks may wait.
    """

    _STOP = object()

    def __init__(self, name: str = "sb3-matlab-writer", max_pending: int = 2) -> None:
        self._tasks: queue.Queue = queue.Queue(maxsize=max(1, max_pending))
        self._outcomes: collections.deque[Outcome] = collections.deque()
        self._waiting = 0  # submitted tasks the worker has not started (a submit may still block)
        self._waiting_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        atexit.register(self.close)

    @property
    def alive(self) -> bool:
        """Whether the worker thread still runs."""
        return self._thread.is_alive()

    def submit(self, task: Callable[[], Any]) -> None:
        """Queue ``task`` (blocks while ``max_pending`` tasks already wait)."""
        if not self.alive:
            raise RuntimeError("BackgroundWriter is closed.")
        with self._waiting_lock:
            self._waiting += 1
        self._tasks.put(task)

    @property
    def waiting(self) -> int:
        """How many submitted tasks have not started yet (a task may ask: more work behind me?)."""
        return self._waiting

    def drain(self) -> list[Outcome]:
        """Return and forget the outcomes of the tasks finished so far, oldest first."""
        out = []
        while self._outcomes:
            out.append(self._outcomes.popleft())
        return out

    def flush(self) -> None:
        """Wait until every submitted task has finished."""
        if self.alive:
            self._tasks.join()

    def close(self) -> None:
        """Finish every submitted task, then stop the thread (idempotent)."""
        atexit.unregister(self.close)
        if not self.alive:
            return
        self._tasks.put(self._STOP)
        self._thread.join()

    def _run(self) -> None:
        while True:
            task = self._tasks.get()
            try:
                if task is self._STOP:
                    return
                with self._waiting_lock:
                    self._waiting -= 1
                try:
                    self._outcomes.append(Outcome(value=task()))
                except BaseException as exc:  # reported to the submitting thread
                    self._outcomes.append(Outcome(error=exc))
            finally:
                task = None  # while waiting, hold no reference to the submitter (its callback)
                self._tasks.task_done()
