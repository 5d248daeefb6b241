"""Env factories and a driver for the experiment tests (importable by spawned workers)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def off_policy() -> dict[str, Any]:
    """Tiny SAC/TD3/DDPG settings (a fresh dict: SB3 adds keys to policy_kwargs)."""
    return {"policy_kwargs": {"net_arch": [16]}, "device": "cpu", "learning_starts": 100}


def on_policy() -> dict[str, Any]:
    """Tiny PPO settings (a fresh dict)."""
    return {"policy_kwargs": {"net_arch": [16]}, "device": "cpu", "n_steps": 64, "batch_size": 64,
            "n_epochs": 1}


def dying_env() -> Any:
    """A worker that dies as if killed: no exception, no result, exit code 3."""
    os._exit(3)


def broken_env() -> Any:
    raise RuntimeError("this env factory is broken on purpose")


def tiny_runs(timesteps: int, save_freq: int = 100, algorithms: tuple[str, ...] = ("SAC", "TD3", "PPO"),
              seed: int = 0) -> list:
    from sb3_matlab_callback import ExperimentRun

    return [ExperimentRun(f"{algorithm}-{seed}", algorithm, "Pendulum-v1", timesteps, seed=seed,
                          algorithm_kwargs=on_policy() if algorithm == "PPO" else off_policy(),
                          save_freq=save_freq)
            for algorithm in algorithms]


def main() -> None:
    """``python experiment_helpers.py ROOT TIMESTEPS MAX_PARALLEL ALGO...``: print summaries as JSON."""
    from sb3_matlab_callback import ExperimentInterrupted, run_experiment

    root, timesteps, max_parallel, *algorithms = sys.argv[1:]
    runs = tiny_runs(int(timesteps), algorithms=tuple(algorithms))
    try:
        summaries = run_experiment(runs, root, max_parallel=int(max_parallel))
    except ExperimentInterrupted as exc:
        print(json.dumps(exc.summaries), flush=True)
        raise
    print(json.dumps(summaries), flush=True)


if __name__ == "__main__":
    main()
