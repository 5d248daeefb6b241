"""The manifest, ``save_path/manifest.json``: read, validate, extend, write.

The format is fixed by CONTRACT.md (``format``, ``format_version``, ``algorithm``,
``checkpoints``, ``latest``). Extra keys add what helps a user: ``run`` (algorithm,
versions, spaces, env id) and, per checkpoint, ``ep_rew_mean``. Three rules hold:

1. ``checkpoints`` is in ascending ``version`` order;
2. every listed ``file`` is a bare file name in ``save_path``, present and complete;
3. ``latest`` is the highest listed version.

A manifest that breaks a rule raises :class:`ManifestError` naming the file and the
rule. It is never silently overwritten.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import os
import re
import stat
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ManifestError
from .writer import atomic_write_bytes

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "sb3-matlab-manifest"
MANIFEST_FORMAT_VERSION = 1
#: The largest manifest read (a million checkpoints take about 300 MB; keep_last bounds it).
MAX_MANIFEST_BYTES = 64 * 2**20
#: The deepest nesting of JSON arrays and objects read (a manifest needs 3).
MAX_MANIFEST_DEPTH = 32
#: Keys every checkpoint entry has, with the check each value must pass.
CHECKPOINT_KEYS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "version": ("a positive integer", lambda v: _is_int(v) and v >= 1),
    "file": ("a string", lambda v: isinstance(v, str)),
    "num_timesteps": ("a non-negative integer", lambda v: _is_int(v) and v >= 0),
    "sha256": ("64 lowercase hex digits", lambda v: isinstance(v, str)
               and re.fullmatch(r"[0-9a-f]{64}", v) is not None),
    "bytes": ("a non-negative integer", lambda v: _is_int(v) and v >= 0),
    "created": ("a string", lambda v: isinstance(v, str)),
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def utc_now() -> str:
    """Return the current UTC time as the manifest writes it: ``2026-01-01T00:00:00Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_manifest(algorithm: str, run: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return an empty manifest (it becomes valid once a checkpoint is added).

    :param algorithm: the algorithm name, e.g. ``"SAC"``.
    :param run: run metadata stored under ``run``.
    """
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_FORMAT_VERSION,
        "algorithm": algorithm,
        "checkpoints": [],
        "latest": None,
    }
    if run is not None:
        manifest["run"] = run
    return manifest


def checkpoint_entry(version: int, file: str, num_timesteps: int, sha256: str, nbytes: int,
                     *, created: str | None = None, **extra: Any) -> dict[str, Any]:
    """One ``checkpoints`` entry: the contract's keys first, then ``extra`` (e.g. ``ep_rew_mean``).

    Non-finite floats in ``extra`` become ``null`` (JSON has no NaN).
    """
    entry = {"version": int(version), "file": file, "num_timesteps": int(num_timesteps),
             "sha256": sha256, "bytes": int(nbytes), "created": created or utc_now()}
    for key, value in extra.items():
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        entry[key] = value
    return entry


def with_checkpoint(manifest: dict[str, Any], entry: dict[str, Any],
                    keep_last: int | None = None) -> tuple[dict[str, Any], list[str]]:
    """Return a new manifest with ``entry`` appended, and the files retention drops.

    :param manifest: the current manifest (left unchanged).
    :param entry: a :func:`checkpoint_entry` whose version is above every listed one.
    :param keep_last: keep only this many newest checkpoints; ``None`` keeps all.
    :return: ``(manifest, dropped_files)``. Delete the dropped files only after the new
        manifest is committed.
    """
    return with_checkpoints(manifest, [entry], keep_last)


def with_checkpoints(manifest: dict[str, Any], entries: list[dict[str, Any]],
                     keep_last: int | None = None) -> tuple[dict[str, Any], list[str]]:
    """Return a new manifest with ``entries`` appended (a group commit), and the files dropped.

    :param manifest: the current manifest (left unchanged).
    :param entries: :func:`checkpoint_entry` dicts in ascending version order, each above
        every listed version.
    :param keep_last: keep only this many newest checkpoints; ``None`` keeps all. A file
        both added and dropped here is among the dropped files.
    :return: ``(manifest, dropped_files)``. Delete the dropped files only after the new
        manifest is committed.
    """
    checkpoints = manifest["checkpoints"]
    last = checkpoints[-1]["version"] if checkpoints else 0
    for entry in entries:
        if entry["version"] <= last:
            raise ValueError(f"version {entry['version']} is not above the latest listed "
                             f"version {last}")
        last = entry["version"]
    listed = [dict(c) for c in checkpoints] + [dict(e) for e in entries]
    out = {key: listed if key == "checkpoints" else copy.deepcopy(value)  # same key order
           for key, value in manifest.items()}
    dropped: list[str] = []
    if keep_last is not None and len(out["checkpoints"]) > keep_last:
        cut = len(out["checkpoints"]) - keep_last
        dropped = [c["file"] for c in out["checkpoints"][:cut]]
        out["checkpoints"] = out["checkpoints"][cut:]
    out["latest"] = out["checkpoints"][-1]["version"]
    return out, dropped


def encode_manifest(manifest: dict[str, Any]) -> bytes:
    """Encode the manifest as UTF-8 JSON text (strict: no NaN)."""
    return (json.dumps(manifest, indent=2, allow_nan=False) + "\n").encode("utf-8")


def write_manifest(folder: Path, manifest: dict[str, Any],
                   write: Callable[[Path, bytes], None] = atomic_write_bytes) -> Path:
    """Validate ``manifest`` and replace ``folder/manifest.json`` atomically.

    :param folder: the export folder.
    :param manifest: the manifest to commit.
    :param write: the atomic writer (temp file, fsync, rename with retry, fsync folder).
    :return: the manifest's path.
    """
    path = Path(folder) / MANIFEST_NAME
    validate_manifest(manifest, path)
    write(path, encode_manifest(manifest))
    return path


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """Read and validate ``folder/manifest.json``; ``None`` when there is none.

    :raises ManifestError: naming the file and the broken rule.
    """
    path = Path(folder) / MANIFEST_NAME
    try:
        raw = _read_regular_file(path, MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ManifestError(f"Manifest {str(path)!r} cannot be read: {exc}.") from exc
    return parse_manifest(raw, path)


def _read_regular_file(path: Path, limit: int) -> bytes:
    """Read ``path`` if it is a regular file of at most ``limit`` bytes.

    It is opened non-blocking, so a FIFO (or a device) never hangs the reader.

    :raises ManifestError: naming the file when it is not a regular file or too large.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _error(path, "it is not a regular file (a FIFO, device or folder)")
        if info.st_size > limit:
            raise _error(path, f"it is larger than {limit} bytes ({info.st_size} bytes)")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise _error(path, f"it is larger than {limit} bytes")
    return raw


def parse_manifest(raw: bytes | str, path: Path) -> dict[str, Any]:
    """Parse and validate manifest text.

    :param raw: the file's content.
    :param path: the file, named in errors.
    :raises ManifestError: naming ``path`` and the broken rule.
    """
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > MAX_MANIFEST_BYTES:
        raise _error(path, f"it is larger than {MAX_MANIFEST_BYTES} bytes")
    depth = json_depth(data)
    if depth > MAX_MANIFEST_DEPTH:
        raise _error(path, f"its JSON nests {depth} levels deep; a manifest nests at most "
                     f"{MAX_MANIFEST_DEPTH}")
    try:
        manifest = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _error(path, f"it is not valid JSON ({exc})") from exc
    return validate_manifest(manifest, path)


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)  # unterminated: to the end


def json_depth(data: bytes) -> int:
    """Return how deep JSON arrays and objects nest in ``data``, without decoding it.

    Brackets inside strings do not count. Linear time, no recursion.
    """
    import numpy as np

    stripped = _JSON_STRING.sub(b"", data)
    codes = np.frombuffer(stripped, dtype=np.uint8)
    steps = (np.isin(codes, (ord("["), ord("{"))).astype(np.int64)
             - np.isin(codes, (ord("]"), ord("}"))).astype(np.int64))
    return int(np.cumsum(steps).max()) if steps.size else 0


def validate_manifest(manifest: Any, path: Path) -> dict[str, Any]:
    """Check the manifest's structure and its rules 1 and 3 (rule 2 needs the folder).

    :return: ``manifest``, unchanged.
    :raises ManifestError: naming ``path`` and the broken rule.
    """
    if not isinstance(manifest, dict):
        raise _error(path, "its top level must be a JSON object")
    if manifest.get("format") != MANIFEST_FORMAT:
        raise _error(path, f"'format' must be {MANIFEST_FORMAT!r}, got {manifest.get('format')!r}")
    if manifest.get("format_version") != MANIFEST_FORMAT_VERSION:
        raise _error(path, f"'format_version' is {manifest.get('format_version')!r}; this "
                     f"package reads version {MANIFEST_FORMAT_VERSION}")
    if not isinstance(manifest.get("algorithm"), str) or not manifest["algorithm"]:
        raise _error(path, "'algorithm' must be a non-empty string")
    checkpoints = manifest.get("checkpoints")
    if not isinstance(checkpoints, list) or not checkpoints:
        raise _error(path, "'checkpoints' must be a non-empty list")
    for index, entry in enumerate(checkpoints):
        _validate_entry(entry, index, path)
    versions = [c["version"] for c in checkpoints]
    if any(b <= a for a, b in itertools.pairwise(versions)):
        raise _error(path, f"rule 1 broken: 'checkpoints' must be in ascending version order, "
                     f"got versions {versions}")
    files = [c["file"] for c in checkpoints]
    if len(set(files)) != len(files):
        raise _error(path, "two checkpoints list the same file")
    if not _is_int(manifest.get("latest")) or manifest["latest"] != versions[-1]:
        raise _error(path, f"rule 3 broken: 'latest' is {manifest.get('latest')!r} but the "
                     f"highest listed version is {versions[-1]}")
    if "next_version" in manifest and not (_is_int(manifest["next_version"])
                                           and manifest["next_version"] > versions[-1]):
        raise _error(path, f"'next_version' must be an integer above 'latest', got "
                     f"{manifest['next_version']!r}")
    if "run_id" in manifest and not isinstance(manifest["run_id"], str):
        raise _error(path, f"'run_id' must be a string, got {manifest['run_id']!r}")
    return manifest


def _validate_entry(entry: Any, index: int, path: Path) -> None:
    if not isinstance(entry, dict):
        raise _error(path, f"checkpoint #{index + 1} must be a JSON object")
    for key, (what, ok) in CHECKPOINT_KEYS.items():
        if key not in entry:
            raise _error(path, f"checkpoint #{index + 1} lacks {key!r}")
        if not ok(entry[key]):
            raise _error(path, f"checkpoint #{index + 1}: {key!r} must be {what}, "
                         f"got {entry[key]!r}")
    if not is_bare_name(entry["file"]):
        raise _error(path, f"rule 2 broken: checkpoint #{index + 1}'s file {entry['file']!r} "
                     "must be a bare file name in save_path")


def is_bare_name(name: str) -> bool:
    """Whether ``name`` is a plain file name (no folder part, not ``.``/``..``)."""
    return (bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name
            and ":" not in name and "\0" not in name)


def check_listed_files(folder: Path, manifest: dict[str, Any], *, hashes: bool = False) -> None:
    """Check rule 2: every listed file is present and complete.

    :param folder: the export folder.
    :param manifest: a validated manifest.
    :param hashes: also compare each file's sha256 (reads every file).
    :raises ManifestError: naming the manifest, the file and what is wrong.
    """
    path = Path(folder) / MANIFEST_NAME
    for entry in manifest["checkpoints"]:
        target = Path(folder) / entry["file"]
        try:
            info = target.stat()
        except FileNotFoundError:
            raise _error(path, f"rule 2 broken: it lists {entry['file']!r} (version "
                         f"{entry['version']}), which is missing") from None
        if not stat.S_ISREG(info.st_mode):
            raise _error(path, f"rule 2 broken: {entry['file']!r} is not a regular file")
        size = info.st_size
        if size != entry["bytes"]:
            raise _error(path, f"rule 2 broken: {entry['file']!r} has {size} bytes, the "
                         f"manifest says {entry['bytes']}")
        if hashes and sha256_file(target) != entry["sha256"]:
            raise _error(path, f"rule 2 broken: the sha256 of {entry['file']!r} differs "
                         "from the manifest's")


def sha256_file(path: Path) -> str:
    """Return the sha256 of a file, as lowercase hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _error(path: Path, rule: str) -> ManifestError:
    return ManifestError(f"Manifest {str(path)!r} is invalid: {rule}.")
