"""The Ray backend: each run is one Ray task, on the cluster ``ray.init()`` connected to.

Ray tasks, not Ray Tune trials: there is no search space, scheduler or early stopping
here, each run is independent and fixed in advance, and ``MatlabExportCallback`` already
owns checkpointing (Tune's own checkpoints and trial folders would only duplicate it).
A task with ``max_retries=0`` is exactly "train this run once, somewhere, report back".
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path
from typing import Any

from .run import ExperimentRun
from .summary import ExperimentInterrupted, Progress, run_summary
from .worker import train_run

#: Seconds the runs get to stop after Ctrl-C before they are cancelled by force.
STOP_GRACE = 20.0


def import_ray() -> Any:
    """Import Ray, or explain how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError("backend='ray' needs Ray: pip install 'sb3-matlab-callback[ray]'.") from exc
    return ray


def run_ray(runs: list[ExperimentRun], root: Path, max_parallel: int | None,
            progress: Progress) -> list[dict[str, Any]]:
    """Train each run as a Ray task (``num_cpus=1``, no retries).

    Uses the cluster this process is connected to (``ray.is_initialized()``), or starts a
    local one and shuts it down at the end. ``root`` must be a folder every node can
    write, at the same path.

    :param max_parallel: at most this many tasks submitted at once; ``None`` lets Ray
        schedule them all by their CPU request.
    :return: one summary per run, in the order of ``runs``.
    :raises ExperimentInterrupted: on Ctrl-C, after cancelling every task.
    """
    ray = import_ray()
    started = not ray.is_initialized()
    if started:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report from a local cluster
        ray.init(num_cpus=max_parallel, include_dashboard=False, log_to_driver=True)
    try:
        return _run_tasks(ray, runs, root, max_parallel, progress)
    finally:
        if started:
            ray.shutdown()


def _run_tasks(ray: Any, runs: list[ExperimentRun], root: Path, max_parallel: int | None,
               progress: Progress) -> list[dict[str, Any]]:
    task = ray.remote(num_cpus=1, max_retries=0)(train_run)
    pending = list(runs)
    active: dict[Any, tuple[ExperimentRun, float]] = {}
    summaries: dict[str, dict[str, Any]] = {}
    try:
        while pending or active:
            while pending and (max_parallel is None or len(active) < max_parallel):
                run = pending.pop(0)
                active[task.remote(run, str(root), 1)] = (run, time.monotonic())
                progress.started(run, " (Ray task)")
            ready, _ = ray.wait(list(active), num_returns=1, timeout=1.0)
            for ref in ready:
                run, start = active.pop(ref)
                summaries[run.name] = _result(ray, ref, run, root, start, "failed")
                progress.ended_run(summaries[run.name])
            progress.poll()
    except KeyboardInterrupt:
        progress.line("[experiment] Ctrl-C: cancelling every run (press it again to force)")
        _stop(ray, active, root, summaries, progress)
        for run in pending:
            summaries[run.name] = run_summary(run, root, "not started", "stopped by Ctrl-C")
        raise ExperimentInterrupted([summaries[run.name] for run in runs]) from None
    return [summaries[run.name] for run in runs]


def _result(ray: Any, ref: Any, run: ExperimentRun, root: Path, start: float,
            status: str) -> dict[str, Any]:
    """Return the task's summary, or one built from the folder when the task or its worker failed."""
    try:
        return ray.get(ref)
    except ray.exceptions.TaskCancelledError:
        error = "stopped by Ctrl-C (task cancelled)"
    except ray.exceptions.RayError as exc:  # the worker died, the node was lost, ...
        error = _describe(exc)
    return run_summary(run, root, status, error, seconds=round(time.monotonic() - start, 3))


def _describe(exc: BaseException) -> str:
    """Name a Ray error by its cause, in one line without terminal colours."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException) and cause is not exc:
        exc = cause
    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).splitlines() if line.strip()]
    detail = lines[-1] if lines else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _stop(ray: Any, active: dict[Any, tuple[ExperimentRun, float]], root: Path,
          summaries: dict[str, dict[str, Any]], progress: Progress) -> None:
    """Ctrl-C: cancel each task (a KeyboardInterrupt in it), wait, then force what is left."""
    for ref in active:
        with contextlib.suppress(Exception):
            ray.cancel(ref)
    deadline = time.monotonic() + STOP_GRACE
    try:
        while active and time.monotonic() < deadline:
            ready, _ = ray.wait(list(active), num_returns=len(active), timeout=0.5)
            for ref in ready:
                run, start = active.pop(ref)
                summaries[run.name] = _result(ray, ref, run, root, start, "interrupted")
                progress.ended_run(summaries[run.name])
    except KeyboardInterrupt:
        progress.line("[experiment] Ctrl-C again: cancelling the remaining runs by force")
    for ref, (run, start) in list(active.items()):
        with contextlib.suppress(Exception):
            ray.cancel(ref, force=True)
        summaries[run.name] = run_summary(run, root, "interrupted", "stopped by Ctrl-C (task killed)",
                                          seconds=round(time.monotonic() - start, 3))
        progress.ended_run(summaries[run.name])
