"""Training-loop stall per export: MatlabExportCallback next to SB3's CheckpointCallback.

Both callbacks run in the same training run (SAC, default 256x256 networks, Pendulum-v1)
with the same ``save_freq``, so they fire on the same steps. Each is wrapped in a timer
that measures how long its ``on_step`` blocks the training loop on the steps where it
exports. Target (issue #3): MatlabExportCallback stalls at most 1/10 of CheckpointCallback.

MatlabExportCallback's real work (building the bundle, serialization, sha256, fsync,
manifest, retention) runs on its background thread; the script also prints how long
that took per export and how long the final flush at training end waited.

Two more figures (issue #9):
- back to back: 100 exports with ``save_freq=2`` and no gradient steps (SAC with
  ``learning_starts`` above the run), ``learn()`` timed with MatlabExportCallback, with
  CheckpointCallback (same settings) and with no callback; overhead = learn() time minus
  learn() time without a callback, best of ``--repeats`` interleaved runs each. Target:
  MatlabExportCallback's overhead <= 1.0x CheckpointCallback's, every version committed.
  The same run with ``coalesce=True`` is printed too (no target): its overhead, and how
  many gap-free versions it committed.
- the worker's per-stage costs for one export of the same policy: build (load the
  snapshot, translate, reference actions), encode, sha256, write + fsync + rename,
  manifest; and the encoding as bundles were written before (float64, compressed).

Usage: python benchmarks/bench_callback_stall.py [--timesteps 2600] [--save-freq 200]
           [--only stall|back-to-back|stages] [--repeats 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import stable_baselines3
import torch as th
from stable_baselines3 import SAC
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, CheckpointCallback

from sb3_matlab_callback import MatlabExportCallback
from sb3_matlab_callback.bundle.bundle import encode_bundle, map_leaves
from sb3_matlab_callback.deliver.export_folder import bundle_file_name
from sb3_matlab_callback.deliver.manifest import (
    checkpoint_entry,
    new_manifest,
    with_checkpoints,
    write_manifest,
)
from sb3_matlab_callback.deliver.snapshot import Snapshotter
from sb3_matlab_callback.deliver.writer import atomic_write_bytes, fsync_folder


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


def stall(timesteps: int, save_freq: int) -> bool:
    """The training-loop stall per export, side by side with CheckpointCallback (issue #3)."""
    with tempfile.TemporaryDirectory() as tmp:
        model = SAC("MlpPolicy", "Pendulum-v1", seed=0, device="cpu")
        checkpoint = Timed(CheckpointCallback(save_freq, f"{tmp}/checkpoints"), save_freq)
        export = MatlabExportCallback(save_freq, f"{tmp}/matlab", keep_last=3)
        matlab = Timed(export, save_freq)
        start = time.perf_counter()
        model.learn(timesteps, callback=CallbackList([checkpoint, matlab]))
        wall = time.perf_counter() - start

    ck, mx = _ms(checkpoint.export_stalls), _ms(matlab.export_stalls)
    worker = _ms([c.seconds for c in export.committed])
    between = _ms(matlab.other_calls)
    print(f"run: SAC MlpPolicy (256x256) on Pendulum-v1, {timesteps} timesteps, "
          f"save_freq={save_freq}: {len(checkpoint.export_stalls)} exports each, "
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
    return mx["median"] <= 0.1 * ck["median"]


def _no_training_sac() -> SAC:
    """SAC that takes no gradient step in these runs: only the callbacks' cost differs."""
    return SAC("MlpPolicy", "Pendulum-v1", seed=0, device="cpu", learning_starts=10**9)


def _learn_seconds(kind: str, exports: int, save_freq: int, folder: Path) -> float:
    """Time one ``learn()`` of ``exports * save_freq`` timesteps with the ``kind`` callback."""
    model = _no_training_sac()
    callback: BaseCallback | None = None
    if kind == "checkpoint":
        callback = CheckpointCallback(save_freq, str(folder))
    elif kind == "matlab":
        callback = MatlabExportCallback(save_freq, folder)
    elif kind == "coalesce":
        callback = MatlabExportCallback(save_freq, folder, coalesce=True)
    start = time.perf_counter()
    model.learn(exports * save_freq, callback=callback)
    seconds = time.perf_counter() - start
    if kind == "coalesce":
        listed = [c["version"] for c in json.loads((folder / "manifest.json").read_text())
                  ["checkpoints"]]
        if listed != list(range(1, len(listed) + 1)):
            raise SystemExit(f"coalesced versions are not gap-free: {listed}")
        _COALESCED.append(len(listed))
    if kind == "matlab":
        manifest = json.loads((folder / "manifest.json").read_text())
        listed = [c["version"] for c in manifest["checkpoints"]]
        if listed != list(range(1, exports + 1)):
            raise SystemExit(f"not every version was committed: {listed}")
    return seconds


#: Versions each coalesce=True run committed (the rest were replaced by newer snapshots).
_COALESCED: list[int] = []


def back_to_back(exports: int, save_freq: int, repeats: int) -> bool:
    """``learn()`` overhead of ``exports`` exports back to back, against CheckpointCallback."""
    kinds = ("none", "checkpoint", "matlab", "coalesce")
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        _learn_seconds("matlab", 5, save_freq, Path(tmp) / "warm-up")
        for repeat in range(repeats):
            for kind in kinds:
                times[kind].append(_learn_seconds(kind, exports, save_freq,
                                                  Path(tmp) / f"{kind}{repeat}"))
    best = {kind: min(values) for kind, values in times.items()}
    median = {kind: statistics.median(values) for kind, values in times.items()}
    print(f"back to back: {exports} exports, save_freq={save_freq}, SAC 256x256 on Pendulum-v1 "
          f"without gradient steps, {exports * save_freq} timesteps; best of {repeats} "
          "interleaved runs (median in brackets)")
    print(f"{'learn() (ms)':<36}{'time':>10}{'overhead':>12}")
    labels = ("no callback", "CheckpointCallback", "MatlabExportCallback",
              "MatlabExportCallback(coalesce=True)")
    for kind, label in zip(kinds, labels, strict=True):
        over = best[kind] - best["none"]
        print(f"{label:<36}{1e3 * best[kind]:>10.1f}{1e3 * over:>12.1f}"
              f"   [{1e3 * median[kind]:.1f} / {1e3 * (median[kind] - median['none']):.1f}]")
    ratio = (best["matlab"] - best["none"]) / (best["checkpoint"] - best["none"])
    median_ratio = ((median["matlab"] - median["none"])
                    / (median["checkpoint"] - median["none"]))
    print(f"overhead ratio MatlabExport / Checkpoint: {ratio:.2f} (median runs {median_ratio:.2f}; "
          f"target <= 1.00); every run committed versions 1..{exports}")
    coalesce = (best["coalesce"] - best["none"]) / (best["checkpoint"] - best["none"])
    print(f"coalesce=True: overhead ratio {coalesce:.2f}; it committed {min(_COALESCED)} to "
          f"{max(_COALESCED)} gap-free versions of the {exports} snapshots (the newest wins)")
    return ratio <= 1.0


def _median_ms(fn: Callable[[int], Any], n: int) -> tuple[float, list[Any]]:
    seconds, results = [], []
    for index in range(n):
        start = time.perf_counter()
        results.append(fn(index))
        seconds.append(time.perf_counter() - start)
    return 1e3 * statistics.median(seconds), results


def _as_before(bundle: Any) -> Any:
    """The bundle as it was written before issue #9: every float32 array as float64."""
    return map_leaves(bundle, _float64)


def _float64(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype == np.float32:
        return value.astype(np.float64)
    return value


def stages(n: int) -> None:
    """The worker's cost per stage of one export, as ``ExportFolder.stage`` and ``commit_staged`` run them."""
    model = _no_training_sac()
    snapshotter = Snapshotter(model, buffers=4)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        stall, snaps = _median_ms(lambda i: snapshotter.take(i + 1), n)
        build, bundles = _median_ms(lambda i: snapshotter.build(snaps[i]), n)
        encode, data = _median_ms(lambda i: encode_bundle(bundles[i]), n)
        sha, hashes = _median_ms(lambda i: hashlib.sha256(data[i]).hexdigest(), n)
        names = [bundle_file_name("policy", i + 1) for i in range(n)]
        write, _ = _median_ms(lambda i: (atomic_write_bytes(folder / names[i], data[i], exclusive=True,
                                                            sync_folder=False),
                                         fsync_folder(folder)), n)
        entries = [checkpoint_entry(i + 1, names[i], i, hashes[i], len(data[i])) for i in range(n)]
        manifests = [new_manifest("SAC")]
        for entry in entries:
            manifests.append(with_checkpoints(manifests[-1], [entry])[0])
        manifest, _ = _median_ms(lambda i: write_manifest(folder, manifests[i + 1]), n)
        before, old = _median_ms(lambda i: encode_bundle(_as_before(bundles[i]), compress=True), 10)
    total = build + encode + sha + write + manifest
    print(f"worker per export, SAC 256x256 actor (median of {n}; {len(data[0]) / 1024:.0f} KiB "
          f"uncompressed single, {len(old[0]) / 1024:.0f} KiB as before):")
    for label, ms in (("snapshot (training thread)", stall), ("build", build), ("encode", encode),
                      ("sha256", sha), ("write + fsync + rename + folder fsync", write),
                      ("manifest (validate, encode, write, fsync)", manifest),
                      ("total, one export per commit", total)):
        print(f"  {label:<44}{ms:>8.2f} ms")
    print(f"  {'encode as before (float64, compressed)':<44}{before:>8.2f} ms "
          f"({before / encode:.0f}x this encode)")
    print("  a group commit writes the manifest (and fsyncs the folder) once per group instead")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=2600)
    parser.add_argument("--save-freq", type=int, default=200)
    parser.add_argument("--only", choices=("stall", "back-to-back", "stages"), default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--exports", type=int, default=100)
    args = parser.parse_args(argv)

    print(f"machine: {os.cpu_count()} cores, {_cpu_name()}, torch {th.__version__} "
          f"({th.get_num_threads()} threads), SB3 {stable_baselines3.__version__}, "
          f"Python {platform.python_version()}")
    ok = True
    if args.only in (None, "stall"):
        print()
        ok = stall(args.timesteps, args.save_freq) and ok
    if args.only in (None, "back-to-back"):
        print()
        ok = back_to_back(args.exports, 2, args.repeats) and ok
    if args.only in (None, "stages"):
        print()
        stages(50)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
