"""Train a tiny model with MatlabExportCallback: the training process of the delivery tests.

The kill and concurrent-reader tests run it with ``sys.executable`` as a real process.

Usage:
  python tests/delivery_train.py SAVE_PATH [--algo sac|ppo] [--timesteps N] [--save-freq N]
      [--keep-last N] [--seed N] [--crash-at STAGE:N] [--done-file PATH] [--slow-write S]

``--crash-at`` ends the process with ``os._exit`` (as abruptly as SIGKILL) at the Nth
time the commit protocol reaches STAGE: ``write`` (mid-write: a half-written temp file
is on disk), ``bundle`` (bundle committed, manifest not yet) or ``manifest`` (manifest
committed, retention not yet done).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch as th

sys.path.insert(0, str(Path(__file__).parent))

from delivery_helpers import tiny_ppo, tiny_sac

from sb3_matlab_callback import MatlabExportCallback
from sb3_matlab_callback.deliver.writer import TEMP_PREFIX, atomic_write_bytes

CRASH_CODE = 9


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("save_path")
    parser.add_argument("--algo", choices=("sac", "ppo"), default="sac")
    parser.add_argument("--timesteps", type=int, default=1000)
    parser.add_argument("--save-freq", type=int, default=50)
    parser.add_argument("--keep-last", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--crash-at", default=None)
    parser.add_argument("--done-file", default=None)
    parser.add_argument("--slow-write", type=float, default=0.0)
    return parser.parse_args(argv)


def crash_hooks(spec: str | None, slow: float) -> tuple[Any, Any]:
    """The (write_file, stage_hook) pair that crashes at ``spec`` = ``STAGE:N``."""
    stage, _, count = (spec or "none:0").partition(":")
    seen = {"write": 0, "bundle": 0, "manifest": 0}

    def write_file(path: Path, data: bytes, **kwargs: Any) -> None:
        seen["write"] += 1
        if stage == "write" and seen["write"] == int(count):
            fd, _ = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=Path(path).parent)
            os.write(fd, data[: len(data) // 2])
            os._exit(CRASH_CODE)
        if slow:
            time.sleep(slow)
        atomic_write_bytes(path, data, **kwargs)

    def stage_hook(name: str) -> None:
        seen[name] += 1
        if stage == name and seen[name] == int(count):
            os._exit(CRASH_CODE)

    return write_file, stage_hook


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    th.set_num_threads(1)
    make = tiny_sac if args.algo == "sac" else tiny_ppo
    extra = {"learning_starts": 10} if args.algo == "sac" else {}
    model = make("Pendulum-v1", **extra)
    model.set_random_seed(args.seed)
    callback = MatlabExportCallback(args.save_freq, args.save_path, keep_last=args.keep_last,
                                    verbose=1)
    callback._write_file, callback._stage_hook = crash_hooks(args.crash_at, args.slow_write)
    print(f"pid {os.getpid()} training", flush=True)
    model.learn(args.timesteps, callback=callback)
    last = callback.last_committed
    print(f"done version {last.version if last else None}", flush=True)
    if args.done_file:
        Path(args.done_file).write_text("done\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
