"""Command line: ``sb3-matlab`` (or ``python -m sb3_matlab_callback``).

Subcommands:
- ``matlab-path``: print the folder to ``addpath`` in MATLAB/Octave.
- ``export MODEL.zip OUT.mat --algo SAC [--vecnormalize STATS.pkl]``: export a saved model.
- ``info BUNDLE.mat``: summarize a bundle.
- ``verify BUNDLE.mat``: run ``sb3.verify`` on the bundle in GNU Octave.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from . import export_policy, load_bundle, matlab_path
from .errors import ExportError, unsupported
from .extractors.registry import algorithm_classes


def _loadable_algorithms() -> dict[str, type]:
    """Algorithm classes by name: the registered ones and their SB3 / sb3-contrib subclasses."""
    classes = {cls.__name__: cls for cls in algorithm_classes()}
    pending = list(classes.values())
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub.__module__.startswith(("stable_baselines3", "sb3_contrib")):
                classes.setdefault(sub.__name__, sub)
                pending.append(sub)
    return classes


class _SpacesEnv(gym.Env):
    """Carries a model's spaces so ``VecNormalize.load`` has an env to wrap."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space) -> None:
        self.observation_space = observation_space
        self.action_space = action_space

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        return self.observation_space.sample(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        return self.observation_space.sample(), 0.0, False, False, {}


def _export(args: argparse.Namespace) -> int:
    classes = _loadable_algorithms()
    if args.algo not in classes:
        raise unsupported("algorithm", args.algo, classes)
    model = classes[args.algo].load(args.model, device="cpu")
    vec_normalize = None
    if args.vecnormalize:
        venv = DummyVecEnv([lambda: _SpacesEnv(model.observation_space, model.action_space)])
        vec_normalize = VecNormalize.load(args.vecnormalize, venv)
    path = export_policy(model, args.out, vec_normalize=vec_normalize)
    print(f"wrote {path}")
    return 0


def _info(args: argparse.Namespace) -> int:
    bundle = load_bundle(args.bundle)
    ops = bundle["ops"] if isinstance(bundle["ops"], list) else [bundle["ops"]]
    print(f"{args.bundle}: {bundle['algorithm']} ({bundle['policy_class']}), "
          f"version {int(bundle['version'])}, num_timesteps {int(bundle['num_timesteps'])}")
    print(f"observation space: {bundle['observation_space']['type']}, "
          f"action space: {bundle['action_space']['type']}")
    print(f"program: {len(ops)} ops ({', '.join(sorted({o['op'] for o in ops}))}), "
          f"VecNormalize: {'yes' if bundle['vec_normalize'] else 'no'}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    exe = shutil.which("octave-cli") or shutil.which("octave")
    if exe is None:
        print("GNU Octave is not installed (apt-get install -y octave).", file=sys.stderr)
        return 2
    load_bundle(args.bundle)  # a clear Python error first for a missing or corrupt file
    bundle = str(Path(args.bundle).resolve()).replace("'", "''")
    script = (f"addpath('{matlab_path()}'); "
              f"err = sb3.verify(sb3.load_policy('{bundle}')); "
              f"printf('max deviation from SB3 predict: %g\\n', err);")
    proc = subprocess.run([exe, "--no-gui", "--norc", "--quiet", "--eval", script])
    return proc.returncode


def build_parser() -> argparse.ArgumentParser:
    """Return the ``sb3-matlab`` argument parser."""
    parser = argparse.ArgumentParser(prog="sb3-matlab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("matlab-path", help="print the folder to addpath in MATLAB/Octave")
    exp = sub.add_parser("export", help="export a model saved with model.save()")
    exp.add_argument("model", help="the .zip written by model.save()")
    exp.add_argument("out", help="the .mat bundle to write")
    exp.add_argument("--algo", required=True, help="algorithm class name, e.g. SAC")
    exp.add_argument("--vecnormalize", help="VecNormalize statistics saved with .save()")
    info = sub.add_parser("info", help="summarize a bundle")
    info.add_argument("bundle")
    ver = sub.add_parser("verify", help="run sb3.verify on a bundle in GNU Octave")
    ver.add_argument("bundle")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "matlab-path":
        print(matlab_path())
        return 0
    handler = {"export": _export, "info": _info, "verify": _verify}[args.command]
    try:
        return handler(args)
    except (ExportError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
