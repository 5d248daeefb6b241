"""Train SAC, TD3, PPO and DDPG on Pendulum-v1 side by side, every run exporting under one root.

Each run trains in its own process (``--backend local``, the default) or as a Ray task
(``--backend ray``: the cluster ``ray.init()`` finds, or a local one) and delivers its
policies to ``ROOT/NAME/``. Compare them in MATLAB/Octave, while they train or after:

    octave-cli --eval "addpath('examples/matlab'); compare_algorithms('exports/experiment', 'Watch', 600)"

or list them from Python: ``sb3-matlab runs exports/experiment``.

Usage: python examples/multi_algorithm.py [--root exports/experiment] [--timesteps 3000]
       [--seeds 1] [--backend local|ray] [--max-parallel N] [--save-freq 500]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sb3_matlab_callback import ExperimentRun, run_experiment


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="exports/experiment")
    parser.add_argument("--timesteps", type=int, default=3000)
    parser.add_argument("--seeds", type=int, default=1, help="runs per algorithm, seeds 0..N-1")
    parser.add_argument("--save-freq", type=int, default=500)
    parser.add_argument("--backend", choices=("local", "ray"), default="local")
    parser.add_argument("--max-parallel", type=int, default=None)
    parser.add_argument("--net-arch", type=int, nargs="+", default=[64, 64],
                        help="hidden layer sizes of every policy")
    return parser.parse_args(argv)


def algorithm_kwargs(algorithm: str, args: argparse.Namespace) -> dict[str, Any]:
    """Small, fast settings per algorithm (Pendulum-v1 learns in ~10k steps with SAC)."""
    kwargs: dict[str, Any] = {"policy_kwargs": {"net_arch": list(args.net_arch)}, "device": "cpu"}
    if algorithm == "PPO":
        kwargs.update(n_steps=256, batch_size=64, n_epochs=5, gae_lambda=0.95, gamma=0.9)
    else:
        kwargs.update(learning_starts=min(1000, args.timesteps // 4))
    return kwargs


def make_runs(args: argparse.Namespace) -> list[ExperimentRun]:
    return [ExperimentRun(f"{algorithm}-{seed}", algorithm, "Pendulum-v1", args.timesteps, seed=seed,
                          algorithm_kwargs=algorithm_kwargs(algorithm, args), save_freq=args.save_freq)
            for algorithm in ("SAC", "TD3", "PPO", "DDPG") for seed in range(args.seeds)]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    summaries = run_experiment(make_runs(args), args.root, backend=args.backend,
                               max_parallel=args.max_parallel)
    return 0 if all(s["status"] == "finished" for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
