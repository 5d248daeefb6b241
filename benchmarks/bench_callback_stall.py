"""Training-loop stall per export: MatlabExportCallback next to SB3's CheckpointCallback.

Both callbacks run in the same training run (SAC, default 256x256 networks, Pendulum-v1)
with the same ``save_freq``, so they fire on the same steps. Each is wrapped in a timer
that measures how long its ``on_step`` blocks the training loop on the steps where it
exports. Target (issue #3): MatlabExportCallback stalls at most 1/10 of CheckpointCallback.

MatlabExportCallback's real work (building the bundle, serialization, sha256, fsync,
manifest, retention) runs on its background thread; the script also prints how long
that took per export and how long the final flush at training end waited.

Usage: python benchmarks/bench_callback_stall.py [--timesteps 2600] [--save-freq 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import stable_baselines3
import torch as th
from stable_baselines3 import SAC
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, CheckpointCallback

from sb3_matlab_callback import MatlabExportCallback


class Timed(BaseCallback):
    """Time the wrapped callback's ``on_step`` on the calls where it exports."""

    def __init__(self, inner: BaseCallback, save_freq: int) -> None:
        super().__init__()
        self.inner, self.save_freq = inner, save_freq
        self.export_stalls: list[float] = []
        self.other_calls: list[float] = []
        self.end_seconds = 0.0

    def _init_callback(self) -> None:
        self.inner.init_callback(self.model)

    def _on_training_start(self) -> None:
        self.inner.on_training_start(self.locals, self.globals)

    def _on_step(self) -> bool:
        start = time.perf_counter()
        result = self.inner.on_step()
        elapsed = time.perf_counter() - start
        fired = self.n_calls % self.save_freq == 0
        (self.export_stalls if fired else self.other_calls).append(elapsed)
        return result

    def _on_training_end(self) -> None:
        start = time.perf_counter()
        self.inner.on_training_end()
        self.end_seconds = time.perf_counter() - start


def _ms(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
    return {"median": 1e3 * statistics.median(values), "mean": 1e3 * statistics.fmean(values),
            "p90": 1e3 * p90, "max": 1e3 * values[-1]}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=2600)
    parser.add_argument("--save-freq", type=int, default=200)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        model = SAC("MlpPolicy", "Pendulum-v1", seed=0, device="cpu")
        checkpoint = Timed(CheckpointCallback(args.save_freq, f"{tmp}/checkpoints"),
                           args.save_freq)
        export = MatlabExportCallback(args.save_freq, f"{tmp}/matlab", keep_last=3)
        matlab = Timed(export, args.save_freq)
        start = time.perf_counter()
        model.learn(args.timesteps, callback=CallbackList([checkpoint, matlab]))
        wall = time.perf_counter() - start

    ck, mx = _ms(checkpoint.export_stalls), _ms(matlab.export_stalls)
    worker = _ms([c.seconds for c in export.committed])
    between = _ms(matlab.other_calls)
    print(f"machine: {os.cpu_count()} cores, {_cpu_name()}, torch {th.__version__} "
          f"({th.get_num_threads()} threads), SB3 {stable_baselines3.__version__}, "
          f"Python {platform.python_version()}")
    print(f"run: SAC MlpPolicy (256x256) on Pendulum-v1, {args.timesteps} timesteps, "
          f"save_freq={args.save_freq}: {len(checkpoint.export_stalls)} exports each, "
          f"{wall:.1f} s wall")
    print()
    print(f"{'training-loop stall per export (ms)':<42}{'median':>9}{'mean':>9}{'p90':>9}{'max':>9}")
    for name, row in (("CheckpointCallback (model.save)", ck), ("MatlabExportCallback", mx)):
        print(f"{name:<42}" + "".join(f"{row[k]:>9.2f}" for k in ("median", "mean", "p90", "max")))
    print()
    print(f"ratio MatlabExport / Checkpoint: median {mx['median'] / ck['median']:.3f}, "
          f"mean {mx['mean'] / ck['mean']:.3f} (target <= 0.100)")
    print(f"MatlabExportCallback background work per export: median {worker['median']:.1f} ms, "
          f"max {worker['max']:.1f} ms (build, serialize, sha256, fsync, manifest)")
    print(f"MatlabExportCallback on steps without an export: mean {between['mean'] * 1e3:.1f} us")
    print(f"MatlabExportCallback training end (final export + flush): "
          f"{1e3 * matlab.end_seconds:.1f} ms")
    return 0 if mx["median"] <= 0.1 * ck["median"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
