"""The local backend: one spawned process per run, at most ``max_parallel`` at once.

Not ``concurrent.futures.ProcessPoolExecutor``: one worker killed by the OS (SIGKILL, the
OOM killer, ``os._exit``) breaks its whole pool, and every other run with it. Here each
run has its own process and its own pipe: a process that dies without sending a result
fails that run only, with its exit code.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from .run import ExperimentRun
from .summary import ExperimentInterrupted, Progress, run_summary
from .worker import process_main

#: Thread-count variables set (unless set already) for each worker's math libraries.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
#: Seconds a worker may take to exit after it sent its result, or after the SIGINT of Ctrl-C.
EXIT_GRACE = 20.0


def available_cores() -> int:
    """Return the number of cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@dataclass
class _Worker:
    run: ExperimentRun
    process: Any
    conn: Connection
    started: float = field(default_factory=time.monotonic)
    result: dict[str, Any] | None = None
    result_time: float | None = None
    eof: bool = False

    def receive(self) -> None:
        """Read the result, or note that the pipe is closed."""
        try:
            self.result = self.conn.recv()
            self.result_time = time.monotonic()
        except (EOFError, OSError):
            self.eof = True

    def handles(self) -> list[Any]:
        return [self.process.sentinel] + ([] if self.eof or self.result else [self.conn])


def run_local(runs: list[ExperimentRun], root: Path, max_parallel: int,
              progress: Progress) -> list[dict[str, Any]]:
    """Train ``runs`` in spawned processes, at most ``max_parallel`` at once.

    :return: one summary per run, in the order of ``runs``.
    :raises ExperimentInterrupted: on Ctrl-C, after stopping every worker.
    """
    context = multiprocessing.get_context("spawn")
    threads = max(1, available_cores() // min(max_parallel, len(runs)))
    pending, active = deque(runs), []
    summaries: dict[str, dict[str, Any]] = {}
    try:
        try:
            while pending or active:
                while pending and len(active) < max_parallel:
                    active.append(_start(context, pending.popleft(), root, threads, progress))
                active = _collect(active, root, summaries, progress, timeout=1.0)
                progress.poll()
        except KeyboardInterrupt:
            progress.line("[experiment] Ctrl-C: stopping every run (press it again to kill them)")
            _stop(active, root, summaries, progress)
            active = []
            for run in pending:
                summaries[run.name] = run_summary(run, root, "not started", "stopped by Ctrl-C")
            raise ExperimentInterrupted([summaries[run.name] for run in runs]) from None
    finally:
        for worker in active:  # an unexpected error in this loop: leave no process behind
            _kill(worker)
    return [summaries[run.name] for run in runs]


def _start(context: Any, run: ExperimentRun, root: Path, threads: int, progress: Progress) -> _Worker:
    reader, writer = context.Pipe(duplex=False)
    process = context.Process(target=process_main, args=(run, str(root), threads, writer),
                              name=f"sb3-experiment-{run.name}")
    with _thread_variables(threads):
        process.start()
    writer.close()  # the child's end: EOF reaches us when the child is gone
    progress.started(run, f" (pid {process.pid})")
    return _Worker(run, process, reader)


@contextlib.contextmanager
def _thread_variables(threads: int) -> Iterator[None]:
    """Set the math libraries' thread counts for a child started within (respecting the user's)."""
    added = [name for name in THREAD_VARIABLES if name not in os.environ]
    os.environ.update({name: str(threads) for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _collect(active: list[_Worker], root: Path, summaries: dict[str, dict[str, Any]],
             progress: Progress, timeout: float, status: str = "failed") -> list[_Worker]:
    """Wait up to ``timeout`` for results and exits; return the workers still running."""
    handles = [h for worker in active for h in worker.handles()]
    ready = set(wait(handles, timeout=timeout)) if handles else set()
    still = []
    for worker in active:
        if worker.conn in ready:
            worker.receive()
        if worker.result is not None and worker.process.is_alive():
            if time.monotonic() - worker.result_time < EXIT_GRACE:
                still.append(worker)
                continue
            _kill(worker)  # it sent its result but hangs on exit
        if worker.process.is_alive():
            still.append(worker)
            continue
        _finish(worker, root, summaries, progress, status)
    return still


def _finish(worker: _Worker, root: Path, summaries: dict[str, dict[str, Any]], progress: Progress,
            status: str = "failed") -> None:
    worker.process.join()
    if worker.result is None and not worker.eof and worker.conn.poll():
        worker.receive()
    worker.conn.close()
    summary = worker.result
    if summary is None:
        code = worker.process.exitcode
        summary = run_summary(worker.run, root, status, f"worker process died without a result "
                              f"({_exit_text(code)})", exit_code=code,
                              seconds=round(time.monotonic() - worker.started, 3))
    summaries[worker.run.name] = summary
    progress.ended_run(summary)


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}, exit code {code}"
    return f"exit code {code}"


def _stop(active: list[_Worker], root: Path, summaries: dict[str, dict[str, Any]],
          progress: Progress) -> None:
    """Ctrl-C: one SIGINT to each worker, wait for them, kill what is left."""
    for worker in active:
        _interrupt(worker)
    deadline = time.monotonic() + EXIT_GRACE
    try:
        while active and time.monotonic() < deadline:
            active = _collect(active, root, summaries, progress, timeout=0.5, status="interrupted")
    except KeyboardInterrupt:
        progress.line("[experiment] Ctrl-C again: killing the remaining runs")
    for worker in active:
        _kill(worker)
        _finish(worker, root, summaries, progress, status="interrupted")


def _interrupt(worker: _Worker) -> None:
    if not worker.process.is_alive():
        return
    if os.name == "nt":  # pragma: no cover - no SIGINT for another process there
        worker.process.terminate()
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(worker.process.pid, signal.SIGINT)


def _kill(worker: _Worker) -> None:
    if worker.process.is_alive():
        worker.process.kill()
    worker.process.join(timeout=10)
