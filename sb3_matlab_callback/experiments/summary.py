"""Summaries of an experiment's runs, the listing of a root's export folders, progress output."""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ..deliver.manifest import MANIFEST_NAME, read_manifest
from ..errors import ManifestError
from .run import ExperimentRun

#: How deep under the root :func:`list_runs` (and ``sb3.runs``) look for export folders.
MAX_DEPTH = 3
#: Reads of a manifest that fails to parse before it counts as corrupt.
MANIFEST_ATTEMPTS = 5


class ExperimentInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped :func:`~sb3_matlab_callback.run_experiment`; ``summaries`` says where each run got.

    A ``KeyboardInterrupt``, so a script stops as Ctrl-C makes it stop.
    """

    def __init__(self, summaries: list[dict[str, Any]]) -> None:
        super().__init__("run_experiment was interrupted; every folder holds its last committed version")
        self.summaries = summaries


class RunsWarning(UserWarning):
    """An export folder under the root has a corrupt manifest and is left out of the listing."""


def read_manifest_retrying(folder: Path) -> dict[str, Any] | None:
    """Read ``folder/manifest.json``, reading again a few times while it fails to parse.

    :raises ManifestError: it still fails after :data:`MANIFEST_ATTEMPTS` reads.
    """
    for attempt in range(MANIFEST_ATTEMPTS):
        try:
            return read_manifest(folder)
        except ManifestError:
            if attempt == MANIFEST_ATTEMPTS - 1:
                raise
            time.sleep(0.01 * 2 ** attempt)
    return None  # pragma: no cover


def run_summary(run: ExperimentRun, root: str | Path, status: str, error: str | None = None,
                **extra: Any) -> dict[str, Any]:
    """Summarize one run: what its folder holds now, and how it ended.

    :param run: the run.
    :param root: the experiment's root.
    :param status: ``"finished"``, ``"failed"``, ``"interrupted"`` or ``"not started"``.
    :param error: what went wrong, when the run did not finish.
    :param extra: more keys (``seconds``, ``traceback``, ``exit_code``).
    """
    folder = Path(root) / run.name
    latest = num_timesteps = None
    try:
        manifest = read_manifest_retrying(folder)
    except ManifestError as exc:
        manifest = None
        error = f"{error}; {exc}" if error else str(exc)
    if manifest is not None:
        latest = manifest["latest"]
        num_timesteps = manifest["checkpoints"][-1]["num_timesteps"]
    return {"name": run.name, "status": status, "latest": latest, "num_timesteps": num_timesteps,
            "error": error, "algorithm": run.algorithm_name, "env": run.env_name,
            "seed": run.seed, "path": str(folder), **extra}


def list_runs(root: str | Path) -> list[dict[str, Any]]:
    """List the export folders under ``root``, as ``sb3.runs`` does in MATLAB.

    An export folder is one with a ``manifest.json``: ``root`` itself, or a folder up to
    :data:`MAX_DEPTH` levels below it (export folders are not searched further). A
    folder without a manifest yet is not listed; a corrupt manifest is read a few times
    (it may be being replaced on a file system without atomic rename), then warned about
    with :class:`RunsWarning` and left out.

    :param root: the experiment's root.
    :return: one dict per export folder, sorted by ``name`` (its path under ``root``, with
        ``/``): ``name``, ``path``, ``algorithm``, ``env_id``, ``seed``, ``latest``,
        ``num_timesteps``, ``ep_rew_mean`` (NaN where unknown), ``created`` (of the latest
        checkpoint) and ``finished`` (its last export was the training-end one).
    :raises FileNotFoundError: ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{str(root)!r} is not a folder.")
    rows = []
    for folder in _export_folders(root):
        try:
            manifest = read_manifest_retrying(folder)
        except ManifestError as exc:
            warnings.warn(f"Skipping {str(folder)!r}: {exc}", RunsWarning, stacklevel=2)
            continue
        if manifest is not None:
            name = folder.name if folder == root else folder.relative_to(root).as_posix()
            rows.append(_row(name, folder, manifest))
    return sorted(rows, key=lambda row: row["name"])


def _export_folders(root: Path) -> Iterable[Path]:
    if (root / MANIFEST_NAME).exists():
        yield root
        return
    level = [root]
    for _ in range(MAX_DEPTH):
        below = []
        for folder in level:
            try:
                children = sorted(p for p in folder.iterdir() if p.is_dir())
            except OSError:
                continue
            for child in children:
                if child.name.startswith((".", "+", "@")) or (child / "+sb3").is_dir():
                    continue
                if (child / MANIFEST_NAME).exists():
                    yield child
                else:
                    below.append(child)
        level = below


def _row(name: str, folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    run = manifest.get("run") or {}
    last = manifest["checkpoints"][-1]
    reward = last.get("ep_rew_mean")
    seed = run.get("seed")
    return {"name": name, "path": str(folder), "algorithm": manifest["algorithm"],
            "env_id": run.get("env_id") or "", "seed": seed if isinstance(seed, int) else math.nan,
            "latest": manifest["latest"], "num_timesteps": last["num_timesteps"],
            "ep_rew_mean": float(reward) if isinstance(reward, (int, float)) else math.nan,
            "created": last["created"], "finished": last.get("trigger") == "training_end"}


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """Format ``rows`` as a plain text table.

    :param rows: the rows.
    :param columns: ``(key, heading)`` pairs. ``None`` and NaN show as ``-``.
    """
    cells = [[heading for _, heading in columns]]
    cells += [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                     for line in cells)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


#: Columns of :func:`runs_table`, ``sb3-matlab runs ROOT``.
RUNS_COLUMNS = (("name", "run"), ("algorithm", "algorithm"), ("env_id", "env_id"), ("seed", "seed"),
                ("latest", "version"), ("num_timesteps", "timesteps"),
                ("ep_rew_mean", "ep_rew_mean"), ("finished", "finished"), ("created", "updated"))
#: Columns of the table ``run_experiment`` prints at the end.
SUMMARY_COLUMNS = (("name", "run"), ("algorithm", "algorithm"), ("status", "status"),
                   ("latest", "version"), ("num_timesteps", "timesteps"), ("seconds", "seconds"),
                   ("error", "error"))


def runs_table(root: str | Path) -> str:
    """Return the table of :func:`list_runs`, as ``sb3-matlab runs ROOT`` prints it."""
    return format_table(list_runs(root), RUNS_COLUMNS)


class Progress:
    """One line per run start, end and failure, and a tqdm bar of committed timesteps on a terminal.

    :param runs: the experiment's runs.
    :param root: its root (the bar reads each run's manifest).
    :param verbose: 0 silent, 1 lines and bar.
    :param stream: where to write (standard error by default).
    """

    def __init__(self, runs: Sequence[ExperimentRun], root: Path, verbose: int = 1,
                 stream: TextIO | None = None) -> None:
        self.runs = list(runs)
        self.root = root
        self.verbose = verbose
        self.stream = stream or sys.stderr
        self.ended: dict[str, dict[str, Any]] = {}
        self.running: set[str] = set()
        self._bar = self._make_bar() if verbose else None
        self._last_poll = 0.0

    def _make_bar(self) -> Any:
        if not getattr(self.stream, "isatty", lambda: False)():
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency
            return None
        return tqdm(total=sum(r.total_timesteps for r in self.runs), unit="step", file=self.stream,
                    desc="experiment", dynamic_ncols=True)

    def line(self, text: str) -> None:
        """Write one line (above the bar, when there is one)."""
        if not self.verbose:
            return
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def started(self, run: ExperimentRun, where: str = "") -> None:
        """Report that ``run`` started."""
        self.running.add(run.name)
        env = run.env_name
        self.line(f"[experiment] start  {run.name}: {run.algorithm_name} on {env}, "
                  f"{run.total_timesteps} timesteps, seed {run.seed}{where} {self._count()}")

    def ended_run(self, summary: dict[str, Any]) -> None:
        """Report that a run ended (finished, failed or interrupted)."""
        self.running.discard(summary["name"])
        self.ended[summary["name"]] = summary
        seconds = summary.get("seconds")
        took = f" in {seconds:.1f} s" if isinstance(seconds, (int, float)) else ""
        where = (f"version {summary['latest']}, {summary['num_timesteps']} timesteps"
                 if summary["latest"] is not None else "nothing committed")
        if summary["status"] == "finished":
            self.line(f"[experiment] done   {summary['name']}: {where}{took} {self._count()}")
        else:
            self.line(f"[experiment] {summary['status'].upper()} {summary['name']}: "
                      f"{summary['error']} ({where}{took}) {self._count()}")
        self.poll(force=True)

    def poll(self, force: bool = False) -> None:
        """Move the bar to the timesteps committed so far (at most once a second)."""
        now = time.monotonic()
        if self._bar is None or (not force and now - self._last_poll < 1.0):
            return
        self._last_poll = now
        total = 0
        for run in self.runs:
            try:
                manifest = read_manifest(self.root / run.name)
            except ManifestError:
                continue
            if manifest is not None:
                total += min(manifest["checkpoints"][-1]["num_timesteps"], run.total_timesteps)
        failed = sum(s["status"] != "finished" for s in self.ended.values())
        self._bar.n = total
        self._bar.set_postfix_str(f"{len(self.ended) - failed} done, {failed} failed, "
                                  f"{len(self.running)} running", refresh=False)
        self._bar.refresh()

    def _count(self) -> str:
        return f"[{len(self.ended)}/{len(self.runs)} ended, {len(self.running)} running]"

    def close(self, summaries: list[dict[str, Any]]) -> None:
        """Close the bar and print the summary table."""
        if self._bar is not None:
            self.poll(force=True)
            self._bar.close()
            self._bar = None
        if self.verbose:
            print(format_table(summaries, SUMMARY_COLUMNS), file=self.stream, flush=True)
