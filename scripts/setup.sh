#!/usr/bin/env bash
# Set up a fresh machine (Python 3.10+, pip; root or sudo for apt): GNU Octave, the
# CPU build of PyTorch and this package with its test extra. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# gnuplot: headless Octave (octave-cli) draws and saves plots through it
# (examples/matlab/compare_algorithms.m).
if ! command -v octave-cli >/dev/null 2>&1 || ! command -v gnuplot >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq octave gnuplot-nox >/dev/null
fi

# constraints/cpu.txt pins torch to the CPU wheel; the package itself accepts any torch build.
python -m pip install -q -c constraints/cpu.txt -e ".[test]"
