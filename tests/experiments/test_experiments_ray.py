"""run_experiment on the Ray backend: real Ray (a local instance), real processes, real Octave."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import experiment_helpers
import pytest
from delivery_helpers import check_folder
from experiment_helpers import dying_env, tiny_runs
from octave import run_octave

from sb3_matlab_callback import ExperimentRun, run_experiment

ray = pytest.importorskip("ray", reason="backend='ray' needs the ray extra") if not os.environ.get("CI") \
    else __import__("ray")
FINISHED = ["PPO-0", "SAC-0", "TD3-0"]


@pytest.fixture(autouse=True)
def no_usage_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")


# Ray's workers cannot import the tests' modules: send the env factories by value.
ray.cloudpickle.register_pickle_by_value(experiment_helpers)


@pytest.mark.octave
@pytest.mark.slow
def test_ray_starts_its_own_cluster_runs_three_algorithms_and_isolates_failures(tmp_path: Path) -> None:
    assert not ray.is_initialized()
    runs = [*tiny_runs(300), ExperimentRun("bad-env", "SAC", "NoSuchEnv-v0", 300),
            ExperimentRun("dies", "TD3", dying_env, 300)]
    summaries = run_experiment(runs, tmp_path / "root", backend="ray", max_parallel=2)
    assert not ray.is_initialized(), "the cluster run_experiment started must be shut down"
    by_name = {s["name"]: s for s in summaries}
    for name in FINISHED:
        manifest = check_folder(tmp_path / "root" / name)
        assert by_name[name]["status"] == "finished", by_name[name]
        assert by_name[name]["latest"] == manifest["latest"] and manifest["run"]["name"] == name
    assert by_name["bad-env"]["status"] == "failed" and "NoSuchEnv" in by_name["bad-env"]["error"]
    assert by_name["dies"]["status"] == "failed" and by_name["dies"]["latest"] is None
    assert "WorkerCrashedError" in by_name["dies"]["error"] or "died" in by_name["dies"]["error"]
    out = run_octave(f"""
    runs = sb3.runs('{tmp_path / "root"}');
    for k = 1:numel(runs)
      fprintf('RUN %s %d %g\\n', runs(k).name, runs(k).latest, sb3.verify(sb3.poll([], runs(k).path)));
    end
    """, tmp_path).stdout
    rows = {line.split()[1]: line.split()[2:] for line in out.splitlines() if line.startswith("RUN")}
    assert sorted(rows) == FINISHED
    assert all(int(v) == by_name[n]["latest"] and float(e) < 1e-4 for n, (v, e) in rows.items())


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.usefixtures("ray_cluster")
def test_ray_uses_the_cluster_it_is_connected_to_and_leaves_it_running(tmp_path: Path) -> None:
    resources = ray.cluster_resources()
    summaries = run_experiment(tiny_runs(200, algorithms=("TD3",)), tmp_path, backend="ray", verbose=0)
    assert ray.is_initialized() and ray.cluster_resources() == resources
    assert summaries[0]["status"] == "finished" and summaries[0]["num_timesteps"] == 200
    check_folder(tmp_path / "TD3-0")
