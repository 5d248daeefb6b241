"""An export folder: the lock, recovery at start, the commit protocol and retention.

Commit protocol, for each checkpoint (see docs/delivery.md):

1. write the bundle to a temp file in the folder; flush, fsync; rename it atomically
   to ``{name_prefix}_v{version:06d}.mat`` (never over an existing file); fsync the folder;
2. only then replace ``manifest.json`` the same way (rename retried on Windows);
3. only then delete the files that retention (``keep_last``) dropped from it.

A crash at any point leaves the committed manifest listing complete files only. What
it can leave behind (temp files, a bundle the manifest does not list yet, a file
retention had not deleted yet) is cleaned up when the folder is opened again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bundle.bundle import encode_bundle
from ..errors import ExportFolderError, ManifestError
from .manifest import (
    MANIFEST_NAME,
    check_listed_files,
    checkpoint_entry,
    new_manifest,
    read_manifest,
    with_checkpoints,
    write_manifest,
)
from .writer import (
    FolderLock,
    atomic_write_bytes,
    check_writable_folder,
    fsync_folder,
    remove_temp_files,
    replace_with_retry,
    write_temp_file,
)

RUNTIME_FOLDER = "matlab"
NAME_PREFIX_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: The longest file name most file systems take, in bytes.
MAX_FILE_NAME_BYTES = 255

WriteFile = Callable[..., None]


@dataclass(frozen=True)
class Committed:
    """One committed checkpoint, as the worker reports it."""

    version: int
    file: str
    num_timesteps: int
    sha256: str
    nbytes: int
    seconds: float


def bundle_file_name(name_prefix: str, version: int) -> str:
    """Return the bundle file name of ``version``: ``policy_v000042.mat``."""
    return f"{name_prefix}_v{version:06d}.mat"


class ExportFolder:
    """The writer's side of ``save_path``. Use :meth:`open`, then :meth:`commit`, then :meth:`close`.

    :param folder: the export folder (created if needed); made absolute here, once, so a
        later ``chdir`` of the training process does not move it.
    :param name_prefix: bundle file names start with it.
    :param keep_last: keep only this many newest bundles; ``None`` keeps all.
    :param write_file: ``fn(path, data, exclusive=...)`` that writes atomically (a test hook
        for injected faults).
    :param stage_hook: called with ``"bundle"`` once a bundle file is written and with
        ``"manifest"`` once the manifest is (a test hook for crash points).
    :param compress: zlib-compress the bundles (smaller files, about 20 times the
        encoding time); off by default.
    """

    def __init__(self, folder: str | Path, name_prefix: str = "policy",
                 keep_last: int | None = None, *, write_file: WriteFile = atomic_write_bytes,
                 stage_hook: Callable[[str], None] | None = None, compress: bool = False) -> None:
        self.folder = Path(os.path.abspath(folder))
        self.name_prefix = name_prefix
        self.keep_last = keep_last
        self.write_file = write_file
        self.stage_hook = stage_hook
        self.compress = compress
        self.manifest: dict[str, Any] | None = None
        self.algorithm = ""
        self.run: dict[str, Any] | None = None
        self.next_version = 1
        #: The highest version handed out (:meth:`reserve`), committed or not.
        self.reserved = 0
        #: Identifies this opening of the folder (one training start) in the manifest.
        self.run_id = ""
        self.cleaned: list[Path] = []
        self._lock: FolderLock | None = None
        self._pending_deletes: list[str] = []
        self._staged: list[tuple[dict[str, Any], float]] = []  # (entry, seconds to write it)
        self._runtime_thread: threading.Thread | None = None
        self._runtime_error: BaseException | None = None
        self._pattern = re.compile(rf"{re.escape(name_prefix)}_v(\d{{6,}})\.mat")

    @property
    def is_open(self) -> bool:
        """Whether this object holds the folder's lock."""
        return self._lock is not None and self._lock.held

    @property
    def latest(self) -> dict[str, Any] | None:
        """The newest committed checkpoint entry, if any."""
        return self.manifest["checkpoints"][-1] if self.manifest else None

    def open(self, algorithm: str, run: dict[str, Any] | None = None) -> ExportFolder:
        """Create and lock the folder, clean up after a crash, read the manifest.

        :param algorithm: the model's algorithm; it must match an existing manifest's.
        :param run: run metadata, stored under the manifest's ``run`` at each commit. Its
            ``env_id`` (or, where either is unknown, its spaces) must match the existing
            manifest's.
        :raises ExportFolderError: the folder is unusable, locked by another writer, or
            holds another algorithm's or env's checkpoints.
        :raises ManifestError: an existing manifest is corrupt (it is left untouched).
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportFolderError(f"Cannot create export folder {str(self.folder)!r}: "
                                    f"{exc.strerror or exc}.") from exc
        check_writable_folder(self.folder)
        self.algorithm, self.run = algorithm, run
        self.run_id = secrets.token_hex(8)
        self._lock = FolderLock.acquire(self.folder)
        try:
            self._recover(algorithm)
        except BaseException:
            self.close()
            raise
        return self

    def _recover(self, algorithm: str) -> None:
        self.cleaned = remove_temp_files(self.folder, recursive=True)
        self.manifest = read_manifest(self.folder)
        listed: set[str] = set()
        if self.manifest is not None:
            check_listed_files(self.folder, self.manifest)
            if self.manifest["algorithm"] != algorithm:
                raise ExportFolderError(
                    f"Export folder {str(self.folder)!r} holds {self.manifest['algorithm']} "
                    f"checkpoints; this model is {algorithm}. Use another save_path.")
            self._check_same_env(self.manifest.get("run"))
            listed = {c["file"] for c in self.manifest["checkpoints"]}
        on_disk = self._bundles_on_disk()
        recorded = self.manifest.get("next_version", 1) if self.manifest else 1
        assert self._lock is not None
        highest = max([*on_disk.values(), self.latest["version"] if self.latest else 0,
                       recorded - 1, self._lock.next_version - 1])
        # a version is never reused: not an orphan's, not one whose export failed
        self.reserved, self.next_version = highest, highest + 1
        for name in sorted(set(on_disk) - listed):  # written but never committed, or dropped
            with contextlib.suppress(FileNotFoundError):
                (self.folder / name).unlink()
                self.cleaned.append(self.folder / name)

    def _check_same_env(self, previous: Any) -> None:
        """Refuse a run on another env than the folder's (by id, or by spaces where unknown)."""
        if not isinstance(previous, dict) or self.run is None:
            return
        old, new = previous.get("env_id"), self.run.get("env_id")
        if old is not None and new is not None:
            if old != new:
                raise ExportFolderError(
                    f"Export folder {str(self.folder)!r} holds checkpoints of env {old!r}; this "
                    f"model trains on {new!r}. Use another save_path.")
            return
        for key in ("observation_space", "action_space"):
            if key in previous and key in self.run and previous[key] != self.run[key]:
                raise ExportFolderError(
                    f"Export folder {str(self.folder)!r} holds checkpoints of env "
                    f"{_env_name(old)} ({key} {previous[key]}); this model trains on "
                    f"{_env_name(new)} ({key} {self.run[key]}). Use another save_path.")

    def reserve(self, version: int) -> None:
        """Record that ``version`` was handed out, so it is never handed out again.

        Recorded in the lock file at once (cheap, survives a crash of the process) and in
        the manifest's ``next_version`` at the next commit.
        """
        self.reserved = max(self.reserved, version)
        if self._lock is not None:
            self._lock.record_next_version(self.reserved + 1)

    def _bundles_on_disk(self) -> dict[str, int]:
        found = {}
        for path in self.folder.iterdir():
            match = self._pattern.fullmatch(path.name)
            if match and path.is_file():
                found[path.name] = int(match.group(1))
        return found

    def install_runtime(self, source: Path) -> list[Path]:
        """Copy the ``+sb3`` runtime from ``source`` into ``folder/matlab/``.

        Each file is replaced atomically and only when it differs, so a MATLAB session
        running from that folder never sees a half-copied file. The changed files are
        written and fsynced first, then renamed, then each folder is fsynced once (not
        once per file: a fresh folder gets about 50 files).

        :return: the files written.
        """
        changed = []
        for src in sorted(Path(source).rglob("*.m")):
            dst = self.folder / RUNTIME_FOLDER / src.relative_to(source)
            data = src.read_bytes()
            if not (dst.is_file() and dst.read_bytes() == data):
                changed.append((dst, data))
        temps: list[str] = []
        renamed = 0
        try:
            for dst, data in changed:
                dst.parent.mkdir(parents=True, exist_ok=True)
                temps.append(write_temp_file(dst, data, temp_suffix=".tmp"))
            for (dst, _), tmp in zip(changed, temps, strict=True):
                replace_with_retry(tmp, dst)
                renamed += 1
        finally:
            for tmp in temps[renamed:]:  # what a failure left behind
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        for folder in sorted({dst.parent for dst, _ in changed}):
            fsync_folder(folder)
        return [dst for dst, _ in changed]

    def start_runtime_install(self, source: Path) -> None:
        """Copy the runtime (:meth:`install_runtime`) on a thread of its own, while training runs.

        Its fsyncs then overlap training and the first exports; :meth:`commit_staged`
        waits for it, so no manifest lists a bundle before the runtime is in place. A
        failure is raised, as :class:`ExportFolderError`, by every later commit.
        """

        def install() -> None:
            try:
                self.install_runtime(source)
            except BaseException as exc:
                self._runtime_error = exc

        self._runtime_thread = threading.Thread(target=install, name="sb3-matlab-runtime",
                                                daemon=True)
        self._runtime_thread.start()

    def wait_runtime(self) -> None:
        """Wait for :meth:`start_runtime_install`; raise its failure as ``ExportFolderError``."""
        if self._runtime_thread is not None:
            self._runtime_thread.join()
        if self._runtime_error is not None:
            raise ExportFolderError(f"Cannot copy the MATLAB runtime into "
                                    f"{str(self.folder / RUNTIME_FOLDER)!r}: "
                                    f"{self._runtime_error}") from self._runtime_error

    def commit(self, bundle: dict[str, Any], **extra: Any) -> Committed:
        """Write ``bundle`` as a new version and commit it to the manifest.

        :param bundle: a bundle from :func:`~sb3_matlab_callback.bundle.bundle.build_bundle`; its
            ``version`` becomes the manifest version.
        :param extra: extra keys for the checkpoint entry (e.g. ``ep_rew_mean``).
        :raises OSError: the commit failed; the committed manifest is unchanged.
        """
        self.stage(bundle, **extra)
        return self.commit_staged()[-1]

    @property
    def staged(self) -> int:
        """How many bundles are written but not yet listed in the manifest."""
        return len(self._staged)

    def stage(self, bundle: dict[str, Any], **extra: Any) -> None:
        """Write ``bundle``'s file (fsynced, renamed to its final name); list it later.

        Step 1 of the commit protocol. The file is not committed until
        :meth:`commit_staged` lists it in the manifest; several staged files share one
        manifest replace there (a group commit). A crash in between leaves an orphan
        that the next :meth:`open` deletes, its version skipped.

        :raises OSError: the bundle could not be written; nothing is staged.
        """
        if not self.is_open:
            raise ExportFolderError(f"Export folder {str(self.folder)!r} is not open.")
        start = time.perf_counter()
        version = int(bundle["version"])
        data = encode_bundle(bundle, compress=self.compress)
        sha256 = hashlib.sha256(data).hexdigest()
        name = bundle_file_name(self.name_prefix, version)
        self.write_file(self.folder / name, data, exclusive=True, sync_folder=False)
        self._stage("bundle")
        entry = checkpoint_entry(version, name, int(bundle["num_timesteps"]), sha256, len(data),
                                 run_id=self.run_id, **extra)
        self._staged.append((entry, time.perf_counter() - start))

    def commit_staged(self) -> list[Committed]:
        """Commit every staged bundle: one folder fsync, one manifest replace, then retention.

        :return: one :class:`Committed` per bundle, in version order (each one's ``seconds``
            is its own write plus the shared commit).
        :raises OSError: the manifest could not be replaced: the staged files are removed
            and the committed manifest is unchanged.
        """
        staged, self._staged = self._staged, []
        if not staged:
            return []
        start = time.perf_counter()
        names = [entry["file"] for entry, _ in staged]
        try:
            self.wait_runtime()  # the runtime is in place before a manifest lists a bundle
            fsync_folder(self.folder)  # the bundles' renames are durable before the manifest's
            base = self.manifest or new_manifest(self.algorithm)
            if self.run is not None:
                base = {**base, "run": self.run}
            top = max(entry["version"] for entry, _ in staged)
            base = {**base, "run_id": self.run_id,
                    "next_version": max(self.reserved, top, base.get("next_version", 1) - 1) + 1}
            manifest, dropped = with_checkpoints(base, [entry for entry, _ in staged],
                                                 self.keep_last)
            write_manifest(self.folder, manifest, write=self.write_file)
        except BaseException:
            self._discard_uncommitted(names)
            raise
        self.manifest = manifest
        self._stage("manifest")
        self._delete([*self._pending_deletes, *dropped])
        shared = time.perf_counter() - start
        return [Committed(entry["version"], entry["file"], entry["num_timesteps"], entry["sha256"],
                          entry["bytes"], seconds + shared) for entry, seconds in staged]

    def _discard_uncommitted(self, names: list[str]) -> None:
        """Remove bundles whose manifest commit failed, unless the manifest lists them after all."""
        try:
            on_disk = read_manifest(self.folder)
        except ManifestError:
            return  # leave them: the next open() sorts it out
        listed = {c["file"] for c in on_disk["checkpoints"]} if on_disk is not None else set()
        for name in names:
            if name not in listed:
                with contextlib.suppress(OSError):
                    (self.folder / name).unlink()

    def _delete(self, names: list[str]) -> None:
        """Delete files the committed manifest no longer lists; keep failures for later."""
        listed = {c["file"] for c in self.manifest["checkpoints"]} if self.manifest else set()
        self._pending_deletes = []
        for name in names:
            if name in listed or name == MANIFEST_NAME:
                continue
            try:
                (self.folder / name).unlink()
            except FileNotFoundError:
                pass
            except OSError:  # e.g. a Windows reader holds it open: retried next commit
                self._pending_deletes.append(name)

    def _stage(self, stage: str) -> None:
        if self.stage_hook is not None:
            self.stage_hook(stage)

    def close(self) -> None:
        """Release the folder's lock (idempotent), once the runtime copy (if any) has ended."""
        if self._runtime_thread is not None:
            self._runtime_thread.join()
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def _env_name(env_id: str | None) -> str:
    return "with no Gymnasium id" if env_id is None else repr(env_id)
