"""Experiments: many training runs under one root, on this machine or a Ray cluster.

``run_experiment(runs, root)`` trains each :class:`ExperimentRun` in its own process with a
``MatlabExportCallback`` into ``root/NAME/``; ``sb3.runs(root)`` lists them in MATLAB and
``list_runs(root)`` in Python. See docs/experiments.md.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..deliver.writer import check_writable_folder
from ..errors import ExportFolderError
from .local import available_cores, run_local
from .ray_backend import run_ray
from .run import ExperimentRun, check_runs, resolve_algorithm
from .summary import ExperimentInterrupted, Progress, RunsWarning, list_runs, runs_table

BACKENDS = ("local", "ray")


def run_experiment(runs: Sequence[ExperimentRun], root: str | os.PathLike, *, backend: str = "local",
                   max_parallel: int | None = None, verbose: int = 1) -> list[dict[str, Any]]:
    """Train every run, each in its own process, exporting into ``root/NAME/``.

    Everything is checked before any run starts: the runs (unique folder names, known
    algorithms, positive budgets), the backend and ``root`` (created if needed, writable).
    A run that fails (a bad env id, an exception, a worker killed by the OS) is reported
    in its summary and never stops the others. Ctrl-C stops every run cleanly: each keeps
    its committed versions, and :class:`ExperimentInterrupted` (a ``KeyboardInterrupt``)
    carries the summaries.

    In a script, the local backend needs the usual ``if __name__ == "__main__":`` guard
    (its worker processes are spawned and import the script again).

    :param runs: the runs, with unique names.
    :param root: the experiment's folder; each run writes ``root/NAME/``. With Ray, a folder
        every node can write at the same path.
    :param backend: ``"local"``: spawned processes on this machine; ``"ray"``: one Ray task
        per run, on the cluster ``ray.init()`` connected to, or a local one.
    :param max_parallel: at most this many runs at once. Local: default the number of
        cores; each worker gets ``cores // running`` torch threads. Ray: default no limit
        beyond the cluster's CPUs (each task asks for one).
    :param verbose: 1 (default) prints one line per run start, end and failure, a progress
        bar on a terminal and a summary table, on standard error; 0 prints nothing.
    :return: one summary per run, in the order of ``runs``: ``name``, ``status``
        (``"finished"`` or ``"failed"``), ``latest`` (the newest committed version, or
        ``None``), ``num_timesteps`` (its timesteps), ``error`` (``None`` unless failed),
        and ``algorithm``, ``env``, ``seed``, ``path``, ``seconds``; ``traceback`` for an
        exception, ``exit_code`` for a worker that died.
    :raises ExperimentInterrupted: Ctrl-C; runs then have status ``"interrupted"`` or
        ``"not started"``.
    """
    if backend not in BACKENDS:
        close = difflib.get_close_matches(str(backend), BACKENDS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown backend {backend!r}.{hint} Backends: {', '.join(BACKENDS)}.")
    runs = check_runs(runs, picklable=backend == "local")
    if max_parallel is not None and (not isinstance(max_parallel, int) or isinstance(max_parallel, bool)
                                     or max_parallel < 1):
        raise ValueError(f"max_parallel must be None or a positive integer, got {max_parallel!r}.")
    root = _prepare_root(root)
    progress = Progress(runs, root, verbose)
    try:
        if backend == "local":
            summaries = run_local(runs, root, max_parallel or available_cores(), progress)
        else:
            summaries = run_ray(runs, root, max_parallel, progress)
    except ExperimentInterrupted as exc:
        progress.close(exc.summaries)
        raise
    progress.close(summaries)
    return summaries


def _prepare_root(root: str | os.PathLike) -> Path:
    path = Path(root).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportFolderError(f"Cannot create the experiment root {str(path)!r}: "
                                f"{exc.strerror or exc}.") from exc
    check_writable_folder(path)
    return path


__all__ = [
    "BACKENDS",
    "ExperimentInterrupted",
    "ExperimentRun",
    "RunsWarning",
    "list_runs",
    "resolve_algorithm",
    "run_experiment",
    "runs_table",
]
