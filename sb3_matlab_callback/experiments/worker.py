"""Train one run of an experiment: the function every backend runs in a worker process."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from ..callback import MatlabExportCallback
from .run import ExperimentRun
from .summary import run_summary


def train_run(run: ExperimentRun, root: str, threads: int | None = None) -> dict[str, Any]:
    """Train ``run`` with a ``MatlabExportCallback`` into ``root/run.name``; never raises.

    An exception, or ``KeyboardInterrupt`` (Ctrl-C, or the backend stopping the run), ends
    the run early. What the callback committed stays: pending exports are flushed first.

    :param run: the run.
    :param root: the experiment's root.
    :param threads: torch threads for this process; ``None`` leaves torch's default.
    :return: the run's summary (see :func:`~.summary.run_summary`), plus ``seconds`` and,
        for a failed run, ``traceback``.
    """
    start = time.monotonic()
    if threads is not None:
        import torch as th

        th.set_num_threads(threads)
    status, error, extra = "finished", None, {}
    env: VecEnv | None = None
    callback: MatlabExportCallback | None = None
    try:
        env = _make_env(run)
        model = run.algorithm_class(run.policy, env, seed=run.seed, **(run.algorithm_kwargs or {}))
        callback = MatlabExportCallback(run.save_freq, Path(root) / run.name, keep_last=run.keep_last,
                                        run_metadata={"name": run.name, "seed": run.seed})
        model.learn(run.total_timesteps, callback=callback)
    except KeyboardInterrupt:
        _ignore_sigint()  # a second Ctrl-C must not cut the flush below short
        status, error = "interrupted", "stopped by Ctrl-C"
    except Exception as exc:
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        extra["traceback"] = traceback.format_exc()
    finally:
        if callback is not None:
            with contextlib.suppress(Exception):
                callback.close(report=False)
        if env is not None:
            with contextlib.suppress(Exception):
                env.close()
    return run_summary(run, root, status, error, seconds=round(time.monotonic() - start, 3), **extra)


def _make_env(run: ExperimentRun) -> VecEnv:
    env = make_vec_env(run.env, n_envs=run.n_envs, seed=run.seed)
    if run.vec_normalize:
        kwargs = run.vec_normalize if isinstance(run.vec_normalize, dict) else {}
        env = VecNormalize(env, **kwargs)
    return env


def _ignore_sigint() -> None:
    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def process_main(run: ExperimentRun, root: str, threads: int, conn: Any) -> None:
    """Entry point of a local worker process: train, then send the summary through ``conn``.

    The process leaves the parent's process group, so a terminal's Ctrl-C reaches only the
    parent, which stops each worker with exactly one SIGINT. Should the parent die, the
    worker stops itself the same way.
    """
    if hasattr(os, "setpgid"):
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
    _watch_parent()
    summary = train_run(run, root, threads)
    with contextlib.suppress(OSError, ValueError):
        conn.send(summary)
        conn.close()


def _watch_parent() -> None:
    """Interrupt this process (as Ctrl-C does) when its parent process is gone."""
    if os.name == "nt":  # pragma: no cover - no process groups there
        return
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=watch, name="sb3-experiment-parent-watch", daemon=True).start()
