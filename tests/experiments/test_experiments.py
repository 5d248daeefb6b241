"""run_experiment on the local backend: real spawned processes, real Octave."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from delivery_helpers import check_folder, one_torch_thread  # noqa: F401
from envs import SpaceEnv, box
from experiment_helpers import broken_env, dying_env, off_policy, tiny_runs
from octave import run_octave
from stable_baselines3 import SAC

from sb3_matlab_callback import ExperimentRun, MatlabExportCallback, read_manifest, run_experiment
from sb3_matlab_callback.cli import main as cli_main
from sb3_matlab_callback.deliver.writer import LOCK_NAME, FolderLock
from sb3_matlab_callback.experiments import list_runs

HELPERS = Path(__file__).resolve().parents[1] / "experiment_helpers.py"
FINISHED = ["PPO-0", "SAC-0", "TD3-0"]


def octave_runs_script(root: Path) -> str:
    """Octave: list the runs, load and verify each one's newest policy, print one line per run."""
    return f"""
    runs = sb3.runs('{root}');
    for k = 1:numel(runs)
      r = runs(k);
      p = sb3.poll([], r.path);
      err = sb3.verify(p);
      fprintf('RUN %s %s %s %d %d %d %g %d\\n', r.name, r.algorithm, r.env_id, r.seed, r.latest, ...
              r.num_timesteps, err, p.version);
    end
    """


def parse_runs(stdout: str) -> dict[str, list[str]]:
    return {line.split()[1]: line.split()[2:] for line in stdout.splitlines() if line.startswith("RUN ")}


# ---------------------------------------------------------------- checks before anything starts

@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"name": "a/b"}, ValueError, "not a valid folder name"),
    ({"name": "CON"}, ValueError, "reserved on Windows"),
    ({"algorithm": "SAQ"}, ValueError, "Did you mean 'SAC'"),
    ({"algorithm": int}, TypeError, "not a Stable-Baselines3 algorithm"),
    ({"total_timesteps": 0}, ValueError, "total_timesteps must be a positive integer"),
    ({"save_freq": -1}, ValueError, "save_freq must be a positive integer"),
    ({"algorithm_kwargs": {"seed": 1}}, ValueError, "must not set seed"),
    ({"env": 3}, TypeError, "env must be a Gymnasium id or an env factory"),
])
def test_a_bad_run_fails_at_construction(kwargs: dict[str, Any], error: type, match: str) -> None:
    args = {"name": "run", "algorithm": "SAC", "env": "Pendulum-v1", "total_timesteps": 100, **kwargs}
    with pytest.raises(error, match=match):
        ExperimentRun(**args)


def test_algorithm_names_resolve_case_insensitively() -> None:
    assert ExperimentRun("r", "ddpg", "Pendulum-v1", 10).algorithm_name == "DDPG"
    assert ExperimentRun("r", SAC, "Pendulum-v1", 10).algorithm_name == "SAC"


@pytest.mark.parametrize(("runs", "kwargs", "match"), [
    ([ExperimentRun("a", "SAC", "Pendulum-v1", 10), ExperimentRun("A", "TD3", "Pendulum-v1", 10)], {},
     "share the folder name"),
    ([], {}, "runs is empty"),
    ([ExperimentRun("a", "SAC", lambda: None, 10)], {}, "cannot be sent to a worker process"),
    ([ExperimentRun("a", "SAC", "Pendulum-v1", 10)], {"backend": "rey"}, "Did you mean 'ray'"),
    ([ExperimentRun("a", "SAC", "Pendulum-v1", 10)], {"max_parallel": 0}, "max_parallel"),
])
def test_a_bad_experiment_fails_before_anything_starts(tmp_path: Path, runs: list, kwargs: dict,
                                                       match: str) -> None:
    with pytest.raises(ValueError, match=match):
        run_experiment(runs, tmp_path / "root", **kwargs)
    assert not (tmp_path / "root").exists()


# ---------------------------------------------------------------- placeholders

@pytest.mark.usefixtures("one_torch_thread")
def test_placeholders_are_filled_at_training_start(tmp_path: Path) -> None:
    template = str(tmp_path / "{algorithm}" / "{env_id}_s{seed:02d}")
    callback = MatlabExportCallback(100, template, run_metadata={"name": "mine", "note": [1, 2]})
    SAC("MlpPolicy", "Pendulum-v1", seed=7, **off_policy()).learn(200, callback=callback)
    folder = tmp_path / "SAC" / "Pendulum-v1_s07"
    assert callback.save_path == folder
    manifest = check_folder(folder)
    assert manifest["run"]["seed"] == 7 and manifest["run"]["name"] == "mine"
    assert manifest["run"]["note"] == [1, 2] and manifest["run"]["env_id"] == "Pendulum-v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SAC"]


@pytest.mark.parametrize(("template", "match"), [
    ("out/{algo}", r"placeholder \{algo\}; the placeholders are \{algorithm\}, \{env_id\}, \{seed\}"),
    ("out/{", "not a valid template"),
    ("out/{}", r"placeholder \{\}"),
])
def test_an_unknown_placeholder_fails_at_construction(template: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MatlabExportCallback(100, template)


@pytest.mark.usefixtures("one_torch_thread")
def test_a_missing_placeholder_value_fails_at_training_start(tmp_path: Path) -> None:
    env = SpaceEnv(box(-1, 1, (3,)), box(-1, 1, (1,)))  # no Gymnasium id
    model = SAC("MlpPolicy", env, seed=0, **off_policy())
    with pytest.raises(ValueError, match=r"uses \{env_id\}, but the training env has no Gymnasium id"):
        model.learn(10, callback=MatlabExportCallback(5, str(tmp_path / "{env_id}")))
    unseeded = SAC("MlpPolicy", "Pendulum-v1", **off_policy())
    with pytest.raises(ValueError, match=r"uses \{seed\}, but the model has no seed"):
        unseeded.learn(10, callback=MatlabExportCallback(5, str(tmp_path / "{seed}")))
    assert list(tmp_path.iterdir()) == []
    literal = MatlabExportCallback(5, str(tmp_path / "{{x}}"))
    SAC("MlpPolicy", "Pendulum-v1", seed=0, **off_policy()).learn(10, callback=literal)
    assert (tmp_path / "{x}" / "manifest.json").is_file()


# ---------------------------------------------------------------- a finished experiment

@pytest.fixture(scope="module")
def local_experiment(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict], str]:
    root = tmp_path_factory.mktemp("experiment")
    runs = [*tiny_runs(300),
            ExperimentRun("bad-env", "SAC", "NoSuchEnv-v0", 300),
            ExperimentRun("dies", "TD3", dying_env, 300),
            ExperimentRun("broken", "PPO", broken_env, 300)]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        summaries = run_experiment(runs, root, max_parallel=2)
    return root, summaries, stderr.getvalue()


def test_three_algorithms_finish_and_three_failures_are_isolated(local_experiment: Any) -> None:
    root, summaries, log = local_experiment
    by_name = {s["name"]: s for s in summaries}
    assert [s["name"] for s in summaries] == ["SAC-0", "TD3-0", "PPO-0", "bad-env", "dies", "broken"]
    for name in FINISHED:
        summary = by_name[name]
        assert summary["status"] == "finished" and summary["error"] is None, summary
        manifest = check_folder(root / name)
        assert summary["latest"] == manifest["latest"] >= 2
        assert summary["num_timesteps"] == manifest["checkpoints"][-1]["num_timesteps"] >= 300
        assert manifest["run"]["name"] == name and manifest["run"]["seed"] == 0
        assert manifest["checkpoints"][-1]["trigger"] == "training_end"
    assert by_name["bad-env"]["status"] == "failed"
    assert "NoSuchEnv" in by_name["bad-env"]["error"]
    assert by_name["dies"]["status"] == "failed" and by_name["dies"]["exit_code"] == 3
    assert "died without a result (exit code 3)" in by_name["dies"]["error"]
    assert by_name["broken"]["error"] == "RuntimeError: this env factory is broken on purpose"
    assert "broken_env" in by_name["broken"]["traceback"]
    for name in ("bad-env", "dies", "broken"):
        assert by_name[name]["latest"] is None and not (root / name / "manifest.json").exists()
    for name in [*FINISHED, "bad-env", "dies", "broken"]:
        assert f"start  {name}:" in log
    assert all(f"done   {name}:" in log for name in FINISHED)
    assert "FAILED dies: worker process died without a result (exit code 3)" in log
    assert log.rstrip().splitlines()[-7].split() == ["run", "algorithm", "status", "version", "timesteps",
                                                     "seconds", "error"]


@pytest.mark.octave
def test_sb3_runs_lists_and_loads_every_run(local_experiment: Any, tmp_path: Path) -> None:
    root, summaries, _ = local_experiment
    out = run_octave(octave_runs_script(root), tmp_path).stdout
    rows = parse_runs(out)
    assert sorted(rows) == FINISHED
    by_name = {s["name"]: s for s in summaries}
    for name, (algorithm, env_id, seed, latest, steps, err, version) in rows.items():
        assert algorithm == name.split("-")[0] and env_id == "Pendulum-v1" and seed == "0"
        assert int(latest) == int(version) == by_name[name]["latest"]
        assert int(steps) == by_name[name]["num_timesteps"] and float(err) < 1e-4


def test_list_runs_and_the_cli_table(local_experiment: Any, capsys: pytest.CaptureFixture) -> None:
    root, summaries, _ = local_experiment
    rows = list_runs(root)
    assert [r["name"] for r in rows] == FINISHED
    assert all(r["finished"] and r["env_id"] == "Pendulum-v1" for r in rows)
    assert cli_main(["runs", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:6] == ["run", "algorithm", "env_id", "seed", "version", "timesteps"]
    assert [line.split()[0] for line in lines[1:]] == FINISHED
    latest = {s["name"]: s["latest"] for s in summaries}
    assert all(int(line.split()[4]) == latest[line.split()[0]] for line in lines[1:])


@pytest.mark.octave
def test_sb3_runs_skips_folders_without_manifest_and_warns_about_corrupt_ones(
        local_experiment: Any, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    for name in FINISHED[:2]:  # copies of two real runs, nested one level deeper for one of them
        target = root / ("nested/" + name if name == "SAC-0" else name)
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-r", str(local_experiment[0] / name), str(target)], check=True)
    (root / "empty").mkdir()
    (root / "corrupt").mkdir()
    (root / "corrupt" / "manifest.json").write_text("{not json")
    script = f"""
    [msg, id] = lastwarn('');
    runs = sb3.runs('{root}');
    [msg, id] = lastwarn();
    fprintf('NAMES %s\\n', strjoin({{runs.name}}, ','));
    fprintf('WARN %s %d\\n', id, ~isempty(strfind(msg, fullfile('{root}', 'corrupt'))));
    again = sb3.runs('{root}', runs);
    fprintf('UPDATED %d\\n', any([again.updated]));
    fprintf('SIZE %d %d\\n', size(sb3.runs('{root / "empty"}')));
    """
    out = run_octave(script, tmp_path).stdout
    assert "NAMES PPO-0,nested/SAC-0" in out
    assert "WARN sb3:runs:badManifest 1" in out
    assert "UPDATED 0" in out and "SIZE 0 1" in out


# ---------------------------------------------------------------- while runs write; kill; Ctrl-C

def _wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _lock_pid(folder: Path) -> int:
    return int((folder / LOCK_NAME).read_text().split()[0])


@pytest.mark.octave
@pytest.mark.slow
def test_listing_while_writing_then_a_killed_worker_then_ctrl_c(tmp_path: Path) -> None:
    root = tmp_path / "root"
    log = (tmp_path / "stderr.txt").open("w")
    driver = subprocess.Popen([sys.executable, str(HELPERS), str(root), "100000", "3", "SAC", "TD3", "PPO"],
                              stdout=subprocess.PIPE, stderr=log, text=True, cwd=tmp_path)
    try:
        _wait_for(lambda: all((root / n / "manifest.json").exists() for n in FINISHED), 180,
                  "three manifests")
        # sb3.runs lists and loads every run while they keep committing new versions.
        script = f"""
        runs = [];
        for pass = 1:4
          runs = sb3.runs('{root}', runs);
          for k = 1:numel(runs)
            p = sb3.poll([], runs(k).path);
            fprintf('PASS %d %s %d %d %g\\n', pass, runs(k).name, runs(k).latest, p.version, sb3.verify(p));
          end
          pause(0.5);
        end
        """
        out = run_octave(script, tmp_path).stdout
        passes = [line.split() for line in out.splitlines() if line.startswith("PASS")]
        assert len(passes) == 12 and {p[2] for p in passes} == set(FINISHED)
        assert all(int(p[4]) >= int(p[3]) and float(p[5]) < 1e-4 for p in passes)
        for name in FINISHED:
            listed = [int(p[3]) for p in passes if p[2] == name]
            assert listed == sorted(listed)
        assert any(int(p[3]) > min(int(q[3]) for q in passes if q[2] == p[2]) for p in passes), \
            "the runs committed nothing new while Octave read them"
        # SIGKILL one worker mid-way: that run fails, the others go on.
        victim = _lock_pid(root / "SAC-0")
        assert victim != driver.pid
        os.kill(victim, signal.SIGKILL)
        _wait_for(lambda: "FAILED SAC-0" in (tmp_path / "stderr.txt").read_text(), 60, "the failure line")
        versions = {n: read_manifest(root / n)["latest"] for n in ("TD3-0", "PPO-0")}
        _wait_for(lambda: all(read_manifest(root / n)["latest"] > v for n, v in versions.items()), 60,
                  "the other runs to go on")
        # Ctrl-C: the driver stops every worker, summarises, and exits as interrupted.
        driver.send_signal(signal.SIGINT)
        stdout, _ = driver.communicate(timeout=90)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        log.close()
    stderr = (tmp_path / "stderr.txt").read_text()
    assert driver.returncode != 0, stderr
    summaries = {s["name"]: s for s in json.loads(stdout.strip().splitlines()[-1])}
    assert summaries["SAC-0"]["status"] == "failed" and summaries["SAC-0"]["exit_code"] == -9
    assert "killed by SIGKILL" in summaries["SAC-0"]["error"]
    assert summaries["TD3-0"]["status"] == summaries["PPO-0"]["status"] == "interrupted", stderr
    assert "Ctrl-C: stopping every run" in stderr
    for name in FINISHED:
        manifest = check_folder(root / name)
        assert summaries[name]["latest"] == manifest["latest"] >= 1
        pid = _lock_pid(root / name)
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        FolderLock.acquire(root / name).release()  # nobody holds the folder any more
    rows = parse_runs(run_octave(octave_runs_script(root), tmp_path).stdout)
    assert sorted(rows) == FINISHED
    assert all(float(row[5]) < 1e-4 for row in rows.values())
