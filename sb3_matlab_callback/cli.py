"""Command line: ``sb3-matlab`` (or ``python -m sb3_matlab_callback``).

Subcommands:
- ``matlab-path``: print the folder to ``addpath`` in MATLAB/Octave.
- ``export MODEL.zip OUT.mat [--algo SAC] [--vecnormalize STATS.pkl] [--critic] [--trust-pickle]``: export a
  saved model; the files are read without running code from them (docs/security.md).
- ``info BUNDLE.mat``: summarize a bundle.
- ``verify BUNDLE.mat``: run ``sb3.verify`` on the bundle in GNU Octave.
- ``generate BUNDLE.mat FOLDER [--name NAME]``: write the bundle's policy as a generated
  ``%#codegen`` MATLAB function (Simulink, MATLAB Coder; see docs/simulink.md).
- ``runs ROOT``: list the training runs (export folders) under an experiment's root, as
  ``sb3.runs`` does in MATLAB.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import load_bundle, matlab_path
from .errors import ExportError
from .export_file import export_policy_file


def _export(args: argparse.Namespace) -> int:
    path = export_policy_file(args.model, args.out, algorithm=args.algo,
                              vec_normalize=args.vecnormalize, trust_pickle=args.trust_pickle,
                              critic=args.critic)
    print(f"wrote {path}")
    return 0


def _info(args: argparse.Namespace) -> int:
    bundle = load_bundle(args.bundle)
    ops = bundle["ops"]
    if isinstance(ops, dict):
        ops = [ops]
    elif not isinstance(ops, list):  # an empty cell reads as an empty array
        ops = [op for op in np.ravel(ops) if isinstance(op, dict)]
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


def _generate(args: argparse.Namespace) -> int:
    from .generate import generate_matlab_function

    try:
        path = generate_matlab_function(args.bundle, args.folder, name=args.name)
    except ValueError as exc:  # an invalid --name
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


def _runs(args: argparse.Namespace) -> int:
    import warnings

    from .experiments import runs_table

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = runs_table(args.root)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the ``sb3-matlab`` argument parser."""
    parser = argparse.ArgumentParser(prog="sb3-matlab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("matlab-path", help="print the folder to addpath in MATLAB/Octave")
    exp = sub.add_parser("export", help="export a model saved with model.save()")
    exp.add_argument("model", help="the .zip written by model.save()")
    exp.add_argument("out", help="the .mat bundle to write")
    exp.add_argument("--algo", help="algorithm class name, e.g. SAC; inferred from the saved "
                     "policy class when only one algorithm uses it")
    exp.add_argument("--vecnormalize", help="VecNormalize statistics saved with .save()")
    exp.add_argument("--critic", action="store_true",
                     help="also export the value side, for sb3.value / sb3.q_value in MATLAB")
    exp.add_argument("--trust-pickle", action="store_true",
                     help="load with SB3's own unpickling, which runs code from the files: only "
                     "for files you trust (default: a safe loader that runs nothing)")
    info = sub.add_parser("info", help="summarize a bundle")
    info.add_argument("bundle")
    ver = sub.add_parser("verify", help="run sb3.verify on a bundle in GNU Octave")
    ver.add_argument("bundle")
    gen = sub.add_parser("generate", help="write the policy as a %%#codegen MATLAB function")
    gen.add_argument("bundle", help="the .mat bundle")
    gen.add_argument("folder", help="where to write NAME.m (created if needed)")
    gen.add_argument("--name", help="the function name (default: the bundle's name prefix + _predict)")
    runs = sub.add_parser("runs", help="list the training runs under an experiment's root")
    runs.add_argument("root", help="the experiment's root (run_experiment's root)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "matlab-path":
        print(matlab_path())
        return 0
    handler = {"export": _export, "info": _info, "verify": _verify,
               "generate": _generate, "runs": _runs}[args.command]
    try:
        return handler(args)
    except (ExportError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
