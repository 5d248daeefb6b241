"""Crash-safe file writing: temp file in the same folder, fsync, atomic rename, fsync dir."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import ExportFolderError

TEMP_PREFIX = ".sb3mat-tmp-"


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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either nothing or the whole file.

    :raises OSError: on any I/O failure; the temp file is removed and ``path`` untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_folder(path.parent)


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
