"""examples/multi_algorithm.py trains four algorithms; examples/matlab/compare_algorithms.m compares them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from octave import run_octave

from sb3_matlab_callback import read_manifest

ROOT = Path(__file__).resolve().parents[2]
RUNS = ["DDPG-0", "PPO-0", "SAC-0", "TD3-0"]


@pytest.mark.octave
@pytest.mark.slow
def test_multi_algorithm_example_and_the_matlab_comparison(tmp_path: Path) -> None:
    root = tmp_path / "experiment"
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "multi_algorithm.py"), "--root", str(root),
                           "--timesteps", "400", "--save-freq", "200", "--net-arch", "16",
                           "--max-parallel", "2"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in root.iterdir()) == RUNS
    png = root / "compare_algorithms.png"
    plot_file = "" if not os.environ.get("DISPLAY") else str(png)  # headless: saved by default
    out = run_octave(f"""
    results = compare_algorithms('{root}', 'Episodes', 4, 'PlotFile', '{plot_file}');
    for k = 1:numel(results)
      fprintf('RESULT %s %d %d %d %.6f\\n', results(k).run, results(k).version, results(k).num_timesteps, ...
              size(results(k).history, 1), results(k).mean_return);
    end
    """, tmp_path, extra_paths=(ROOT / "examples" / "matlab",)).stdout
    header = next(line for line in out.splitlines() if line.startswith("run "))
    assert header.split() == ["run", "algorithm", "version", "timesteps", "mean", "return"]
    rows = [line.split() for line in out.splitlines()]
    table = {row[0]: row for row in rows if row and row[0] in RUNS}
    results = {line.split()[1]: line.split()[2:] for line in out.splitlines() if line.startswith("RESULT")}
    assert sorted(table) == sorted(results) == RUNS
    for name in RUNS:
        manifest = read_manifest(root / name)
        version, steps, points, mean_return = results[name]
        assert int(version) == manifest["latest"] == int(table[name][2])
        assert int(steps) == manifest["checkpoints"][-1]["num_timesteps"] == int(table[name][3])
        assert int(points) == len(manifest["checkpoints"])  # every version on disk was evaluated
        assert -2000 < float(mean_return) < 0  # Pendulum-v1 returns: 200 steps of cost in [0, 16.3]
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"saved the plot to {png}" in out
