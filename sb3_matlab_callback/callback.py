"""``MatlabExportCallback``: deliver policies to MATLAB continuously while SB3 trains."""

from __future__ import annotations

import os
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import stable_baselines3
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecNormalize

from . import __version__
from .bundle import _algorithm_name, build_program
from .errors import ExportError, ExportFolderError, ExportWarning
from .export_folder import NAME_PREFIX_PATTERN, Committed, ExportFolder
from .manifest import utc_now
from .snapshot import Snapshot, Snapshotter
from .writer import BackgroundWriter, Outcome, atomic_write_bytes

ON_ERROR = ("raise", "warn")


@dataclass
class _Result:
    """What the writer did with one snapshot."""

    snapshot: Snapshot
    committed: Committed | None = None
    error: BaseException | None = None


class MatlabExportCallback(BaseCallback):
    """Export a versioned MATLAB bundle every ``save_freq`` calls and once more at training end.

    Shaped like SB3's ``CheckpointCallback``. Each export writes
    ``{name_prefix}_v{version:06d}.mat`` into ``save_path`` and commits it to
    ``save_path/manifest.json``, where ``sb3.latest`` and ``sb3.poll`` find it. The
    training thread only takes a snapshot (policy tensors, ``VecNormalize`` statistics);
    one background thread builds, writes, fsyncs and commits, in order. Everything is
    checked when training starts: an unsupported model fails before the first step.

    At training end it exports the final weights, unless the last export already holds
    them (same timestep and same tensors; SB3 usually updates the weights after the last
    step callback), then waits for every pending write before ``learn()`` returns.
    Numbering continues from the folder's manifest when a run resumes in ``save_path``.

    As ``EvalCallback(callback_on_new_best=...)``, each call is a new best model, so
    ``save_freq=1`` exports every new best. There, exports are committed before the
    evaluation step returns (a child callback gets no training-end call to flush at),
    there is no export at training end, and the folder stays locked until
    :meth:`close` or the process ends.

    :param save_freq: export every ``save_freq`` calls, counted as ``CheckpointCallback``
        counts them: one call per ``env.step()`` of the VecEnv, i.e. ``n_envs`` timesteps.
    :param save_path: the export folder, created if needed.
    :param name_prefix: bundle file names start with it.
    :param keep_last: keep only the ``keep_last`` newest bundles on disk; ``None`` keeps all.
    :param verbose: 0 silent, 1 one line per export, 2 also what happened at start.
    :param on_error: what a failed write does. ``"raise"``: the next step, or training end,
        raises it. ``"warn"``: an :class:`ExportWarning`; training continues. Either way
        the manifest stays valid.
    :param background: write on a background thread; ``False`` commits each export
        before the step returns.
    :param max_pending: snapshots that may wait for the background writer; past that the
        training thread waits for it.
    """

    #: Test hooks: the atomic file writer and a per-stage hook of the commit protocol.
    _write_file: Callable[..., None] = staticmethod(atomic_write_bytes)
    _stage_hook: Callable[[str], None] | None = None

    def __init__(self, save_freq: int, save_path: str | os.PathLike, name_prefix: str = "policy",
                 keep_last: int | None = None, verbose: int = 0, *, on_error: str = "raise",
                 background: bool = True, max_pending: int = 2) -> None:
        super().__init__(verbose)
        _check_arguments(save_freq, name_prefix, keep_last, on_error, max_pending)
        self.save_freq = save_freq
        self.save_path = Path(save_path)
        self.name_prefix = name_prefix
        self.keep_last = keep_last
        self.on_error = on_error
        self.background = background
        self.max_pending = max_pending
        self.export_folder: ExportFolder | None = None
        self.last_committed: Committed | None = None
        self.committed: list[Committed] = []
        self.stalls: list[float] = []
        self.errors: list[BaseException] = []
        self._writer: BackgroundWriter | None = None
        self._snapshotter: Snapshotter | None = None
        self._next_version = 1
        self._last_timesteps: int | None = None

    def _init_callback(self) -> None:
        self.close(report=False)  # a previous learn() that did not end cleanly
        venv = self.model.get_vec_normalize_env()
        build_program(self.model, venv)  # unsupported -> UnsupportedError; nothing written yet
        self._snapshotter = Snapshotter(self.model, buffers=self.max_pending + 2)
        folder = ExportFolder(self.save_path, self.name_prefix, self.keep_last,
                              write_file=self._write_file, stage_hook=self._stage_hook)
        folder.open(_algorithm_name(self.model), run=self._run_metadata(venv))
        try:
            folder.install_runtime(_runtime_source())
        except OSError as exc:
            folder.close()
            raise ExportFolderError(f"Cannot copy the MATLAB runtime into "
                                    f"{str(self.save_path / 'matlab')!r}: {exc}.") from exc
        self.export_folder = folder
        self._next_version = folder.next_version
        self._last_timesteps = folder.latest["num_timesteps"] if folder.latest else None
        if self.background and self.parent is None:
            self._writer = BackgroundWriter(f"matlab-export-{self.save_path.name}",
                                            self.max_pending)
        if self.verbose >= 2:
            print(f"MatlabExportCallback: writing to {self.save_path} from version "
                  f"{self._next_version} ({self._snapshotter.mode} snapshots); removed "
                  f"{len(folder.cleaned)} stale file(s)")

    def _on_step(self) -> bool:
        if self._writer is not None:
            self._report(self._writer.drain())
        if self.n_calls % self.save_freq == 0:
            self._export()
        return True

    def _on_training_end(self) -> None:
        if self.export_folder is None:
            return
        assert self._snapshotter is not None
        if self._snapshotter.last is None:  # no export in this learn() call
            final = self.model.num_timesteps != self._last_timesteps
        else:
            final = not self._snapshotter.unchanged()
        try:
            if final:
                self._export("training_end")
        finally:
            self.close()

    def close(self, report: bool = True) -> None:
        """Finish pending writes and release the folder (called at training end).

        :param report: report errors of the last writes as ``on_error`` says.
        """
        outcomes: list[Outcome] = []
        if self._writer is not None:
            self._writer.close()
            outcomes = self._writer.drain()
            self._writer = None
        if self.export_folder is not None:
            self.export_folder.close()
        if report:
            self._report(outcomes)

    def _export(self, trigger: str | None = None) -> None:
        """Take a snapshot and hand it to the writer (or commit it now)."""
        start = time.perf_counter()
        assert self._snapshotter is not None
        snap = self._snapshotter.take(self._next_version, trigger or self._trigger())
        self._next_version += 1
        if self._writer is not None:
            self._writer.submit(lambda: self._commit(snap))
            self.stalls.append(time.perf_counter() - start)
        else:
            self.stalls.append(time.perf_counter() - start)
            self._report([Outcome(value=self._commit(snap))])
        self.logger.record("matlab_export/stall_ms", 1e3 * self.stalls[-1])

    def _trigger(self) -> str:
        """Name what calls this callback: its own step count or a parent's event."""
        if self.parent is None:
            return "save_freq"
        if getattr(self.parent, "callback_on_new_best", None) is self:
            return "new_best"
        return "event"

    def _commit(self, snap: Snapshot) -> _Result:
        """Build, write and commit one snapshot (worker thread); never raises."""
        try:
            assert self.export_folder is not None and self._snapshotter is not None
            bundle = self._snapshotter.build(snap)
            committed = self.export_folder.commit(bundle, ep_rew_mean=snap.ep_rew_mean,
                                                  trigger=snap.trigger)
            return _Result(snap, committed=committed)
        except Exception as exc:
            return _Result(snap, error=exc)

    def _report(self, outcomes: list[Outcome]) -> None:
        """Log finished writes; raise or warn about failed ones (training thread)."""
        for outcome in outcomes:
            result = outcome.value
            if outcome.error is not None or result.error is not None:
                self._failed(result.snapshot.version if result else None,
                             outcome.error or result.error)
            else:
                self._committed(result.committed)

    def _committed(self, committed: Committed) -> None:
        self.last_committed = committed
        self.committed.append(committed)
        self.logger.record("matlab_export/version", committed.version)
        self.logger.record("matlab_export/num_timesteps", committed.num_timesteps)
        self.logger.record("matlab_export/export_time", committed.seconds)
        if self.verbose >= 1:
            print(f"MatlabExportCallback: committed {committed.file} (version "
                  f"{committed.version}, num_timesteps={committed.num_timesteps}, "
                  f"{committed.nbytes / 1024:.1f} KiB) to {self.save_path} in "
                  f"{committed.seconds:.2f} s")

    def _failed(self, version: int | None, error: BaseException) -> None:
        self.errors.append(error)
        self.logger.record("matlab_export/errors", len(self.errors))
        folder = self.export_folder
        latest = folder.latest["version"] if folder is not None and folder.latest else None
        message = (f"MatlabExportCallback could not export version {version} to "
                   f"{str(self.save_path)!r}: {error}. The manifest is intact; its latest "
                   f"version is {latest}.")
        if self.on_error == "warn":
            warnings.warn(f"{message} Training continues.", ExportWarning, stacklevel=3)
            return
        self.close(report=False)
        if isinstance(error, OSError) and error.errno is not None:
            raise ExportFolderError(error.errno, message) from error
        raise ExportError(message) from error

    def _run_metadata(self, venv: VecNormalize | None) -> dict[str, Any]:
        """Describe this training run for the manifest's ``run``."""
        model = self.model
        return {
            "algorithm": _algorithm_name(model),
            "policy_class": type(model.policy).__name__,
            "env_id": _env_id(model),
            "n_envs": int(model.n_envs),
            "observation_space": str(model.observation_space),
            "action_space": str(model.action_space),
            "vec_normalize": venv is not None,
            "name_prefix": self.name_prefix,
            "save_freq": self.save_freq,
            "keep_last": self.keep_last,
            "package_version": __version__,
            "sb3_version": stable_baselines3.__version__,
            "torch_version": th.__version__,
            "python_version": platform.python_version(),
            "started": utc_now(),
        }


def _check_arguments(save_freq: int, name_prefix: str, keep_last: int | None, on_error: str,
                     max_pending: int) -> None:
    if not isinstance(save_freq, int) or save_freq < 1:
        raise ValueError(f"save_freq must be a positive integer, got {save_freq!r}.")
    if not isinstance(name_prefix, str) or not NAME_PREFIX_PATTERN.fullmatch(name_prefix):
        raise ValueError(f"name_prefix must be letters, digits, '_', '.' or '-' and start with "
                         f"a letter or digit, got {name_prefix!r}.")
    if keep_last is not None and (not isinstance(keep_last, int) or keep_last < 1):
        raise ValueError(f"keep_last must be None or a positive integer, got {keep_last!r}.")
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be 'raise' or 'warn', got {on_error!r}.")
    if not isinstance(max_pending, int) or max_pending < 1:
        raise ValueError(f"max_pending must be a positive integer, got {max_pending!r}.")


def _env_id(model: Any) -> str | None:
    """Return the training env's Gymnasium id, where it has one."""
    env = model.get_env()
    if env is None:
        return None
    try:
        spec = env.get_attr("spec", [0])[0]
    except Exception:
        return None
    return getattr(spec, "id", None)


def _runtime_source() -> Path:
    from . import matlab_path

    return matlab_path()


__all__ = ["ON_ERROR", "MatlabExportCallback"]
