"""Train SAC on Pendulum-v1 and deliver each checkpoint to MATLAB/Octave while it trains.

Every ``--save-freq`` steps, MatlabExportCallback commits a new versioned bundle to
``--save-path`` (default ``exports/pendulum``), together with ``manifest.json`` and a copy
of the ``+sb3`` runtime. When training is done and ``octave-cli`` is installed, the script
asks Octave for the newest bundle with ``sb3.latest`` and checks it with ``sb3.verify``.

To watch continuous delivery, start the closed-loop simulation in a second terminal
while this script trains; it hot-reloads each new policy between episodes:

    octave-cli --eval "save_path = 'exports/pendulum'; run('examples/matlab/pendulum_closed_loop.m')"

Usage: python examples/train_pendulum.py [--timesteps 3000] [--save-freq 1000]
       [--save-path exports/pendulum] [--keep-last 5]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from stable_baselines3 import SAC

from sb3_matlab_callback import MatlabExportCallback


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=3000)
    parser.add_argument("--save-freq", type=int, default=1000)
    parser.add_argument("--save-path", default="exports/pendulum")
    parser.add_argument("--keep-last", type=int, default=5)
    return parser.parse_args(argv)


def verify_in_octave(save_path: Path) -> int:
    """Load the newest bundle in Octave through sb3.latest and run sb3.verify on it."""
    octave = shutil.which("octave-cli")
    if octave is None:
        print("octave-cli not found: skipping the check in Octave.")
        return 0
    folder = str(save_path.resolve()).replace("'", "''")
    script = (
        f"save_path = '{folder}'; addpath(fullfile(save_path, 'matlab'));"
        "[path, entry] = sb3.latest(save_path); policy = sb3.load_policy(path);"
        "err = sb3.verify(policy);"
        "fprintf('Octave: %s (version %d, num_timesteps %d) matches SB3 predict: "
        "max deviation %g\\n', entry.file, entry.version, entry.num_timesteps, err);"
    )
    proc = subprocess.run([octave, "--no-gui", "--norc", "--quiet", "--eval", script],
                          capture_output=True, text=True, timeout=300)
    print(proc.stdout.strip())
    if proc.returncode != 0:
        print(proc.stderr.strip(), file=sys.stderr)
    return proc.returncode


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    save_path = Path(args.save_path)
    model = SAC("MlpPolicy", "Pendulum-v1", seed=0, device="cpu")
    callback = MatlabExportCallback(args.save_freq, save_path, keep_last=args.keep_last,
                                    verbose=1)
    model.learn(args.timesteps, callback=callback)
    print(f"Training done: {model.num_timesteps} timesteps, newest version "
          f"{callback.last_committed.version} in {save_path}")
    return verify_in_octave(save_path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
