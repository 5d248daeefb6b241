"""Wall time of N short training runs: one after another, the local backend, the Ray backend.

- sequential: ``train_run`` for each run in this process, one after another (what a user
  does without ``run_experiment``);
- local, max_parallel=1: the same, each run in its own spawned process (the process
  overhead per run);
- local, max_parallel=cores: the speed-up;
- ray: one task per run on a local Ray instance started beforehand (its start-up time is
  printed separately), as many at once as the local backend; the per-run overhead of Ray
  against the local backend is the difference divided by N.

Usage: python benchmarks/bench_experiments.py [--runs 4] [--timesteps 2000] [--no-ray]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import torch as th

from sb3_matlab_callback import ExperimentRun, run_experiment
from sb3_matlab_callback.experiments.local import available_cores
from sb3_matlab_callback.experiments.worker import train_run


def make_runs(count: int, timesteps: int) -> list[ExperimentRun]:
    kwargs = {"policy_kwargs": {"net_arch": [64, 64]}, "learning_starts": 200, "device": "cpu"}
    return [ExperimentRun(f"SAC-{seed}", "SAC", "Pendulum-v1", timesteps, seed=seed,
                          algorithm_kwargs=dict(kwargs, policy_kwargs=dict(kwargs["policy_kwargs"])),
                          save_freq=500)
            for seed in range(count)]


def timed(label: str, fn: object) -> float:
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    print(f"{label:<36} {seconds:7.2f} s")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--timesteps", type=int, default=2000)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    cores = available_cores()
    print(f"{platform.platform()}, {platform.processor() or platform.machine()}, {cores} cores, "
          f"torch {th.__version__}; {args.runs} SAC runs (64x64) of {args.timesteps} timesteps")
    runs = make_runs(args.runs, args.timesteps)
    with tempfile.TemporaryDirectory() as tmp:
        def sequential() -> None:
            threads = th.get_num_threads()
            for run in runs:
                assert train_run(run, str(Path(tmp) / "seq"), threads=threads)["status"] == "finished"

        def local(parallel: int, name: str) -> None:
            out = run_experiment(runs, Path(tmp) / name, max_parallel=parallel, verbose=0)
            assert all(s["status"] == "finished" for s in out)

        seq = timed("sequential, in this process", sequential)
        one = timed("local, max_parallel=1", lambda: local(1, "one"))
        par = timed(f"local, max_parallel={cores}", lambda: local(cores, "par"))
        print(f"speed-up of the local backend over sequential: {seq / par:.2f}x; "
              f"process overhead per run: {(one - seq) / args.runs:.2f} s")
        if args.no_ray:
            return
        import ray

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        timed("ray.init (local instance)", lambda: ray.init(num_cpus=cores, include_dashboard=False,
                                                            log_to_driver=False))
        try:
            def on_ray() -> None:
                out = run_experiment(runs, Path(tmp) / "ray", backend="ray", verbose=0)
                assert all(s["status"] == "finished" for s in out)

            ray_time = timed(f"ray, {cores} CPUs", on_ray)
        finally:
            ray.shutdown()
        print(f"Ray per-run overhead against the local backend: {(ray_time - par) / args.runs:+.2f} s")


if __name__ == "__main__":
    main()
