"""``MatlabExportCallback``: deliver policies to MATLAB continuously while SB3 trains."""

from __future__ import annotations

import json
import numbers
import os
import platform
import re
import string
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import stable_baselines3
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecNormalize

from . import __version__
from .bundle.bundle import _algorithm_name, build_program, check_finite_statistics
from .deliver.export_folder import (
    MAX_FILE_NAME_BYTES,
    NAME_PREFIX_PATTERN,
    Committed,
    ExportFolder,
    bundle_file_name,
)
from .deliver.manifest import utc_now
from .deliver.snapshot import Snapshot, Snapshotter
from .deliver.writer import BackgroundWriter, Outcome, atomic_write_bytes
from .errors import ExportError, ExportFolderError, ExportWarning
from .translate.program import Program
from .translate.spaces import describe_space
from .translate.wrappers import EnvFolding, check_frame_space, check_stack_matches, fold_env

ON_ERROR = ("raise", "warn")
#: The most snapshots that may wait for the background writer (each holds a copy of the policy).
MAX_PENDING_LIMIT = 64
#: The callback holding each export folder in this process, by real path: a new callback
#: takes a folder over from one whose ``learn()`` ended without training end (an exception,
#: Ctrl-C), instead of being refused by the lock.
_HOLDERS: weakref.WeakValueDictionary[str, MatlabExportCallback] = weakref.WeakValueDictionary()
#: Placeholders ``save_path`` may hold, filled in at training start.
PLACEHOLDERS = ("algorithm", "env_id", "seed")
#: A group commit lists at most this many bundles in one manifest replace ...
GROUP_MAX = 32
#: ... and commits once its first bundle has waited this long (seconds), exports waiting or not.
GROUP_SECONDS = 0.25


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
    :meth:`close`, the process ends, or a later ``learn()`` in the same thread starts a
    new callback on the folder (it takes the folder over, as after an interrupted
    ``learn()``).

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
        training thread waits for it (at most ``MAX_PENDING_LIMIT``, 64).
    :param run_metadata: extra JSON-serializable keys for the manifest's ``run`` metadata
        (``run_experiment`` adds the run's ``name`` and ``seed``); they override the
        callback's own keys.
    :param compress: zlib-compress the bundles: smaller files (float32 weights, stored as
        ``single``, compress little) for about 20 times the encoding time. Off by default.
    :param critic: each bundle also carries the value side (``sb3.value``, ``sb3.q_value``),
        as ``export_policy(..., critic=True)``.
    :param coalesce: freshness over completeness. A snapshot that is still waiting for the
        background writer when the next one is taken is replaced by it (newest wins), so
        the training thread never waits and the writer always writes the newest state.
        Versions are numbered when the writer takes a snapshot, so they stay gap-free;
        ``coalesced`` counts the snapshots replaced. Needs ``background=True``.

    The training env's wrappers are folded into each bundle as ``export_policy(...,
    env=...)`` does: a ``VecFrameStack`` (MATLAB then feeds single frames) and its
    ``VecNormalize`` inside or outside it. A wrapper that may change observations in
    another way fails when training starts.

    When exports come faster than the worker writes them, it commits them in groups: each
    bundle file is written and fsynced as it is built, and the manifest is replaced once
    for the whole group (at most ``GROUP_MAX`` bundles or ``GROUP_SECONDS``), so every
    version is still committed, in order.

    ``save_path`` may hold the placeholders ``{algorithm}`` (e.g. ``SAC``), ``{env_id}``
    (the training env's Gymnasium id, e.g. ``Pendulum-v1``; characters other than letters,
    digits, ``_``, ``.`` and ``-`` become ``_``) and ``{seed}`` (``model.seed``), with
    format specs such as ``{seed:03d}``. They are filled in when training starts, so one
    rl-zoo3 ``callback:`` hyperparameter serves every run. An unknown placeholder fails at
    construction; a value the model does not have (an env without a Gymnasium id, a model
    without a seed) fails when training starts. Write ``{{`` and ``}}`` for literal braces.
    """

    #: Test hooks: the atomic file writer and a per-stage hook of the commit protocol.
    _write_file: Callable[..., None] = staticmethod(atomic_write_bytes)
    _stage_hook: Callable[[str], None] | None = None

    def __init__(self, save_freq: int, save_path: str | os.PathLike, name_prefix: str = "policy",
                 keep_last: int | None = None, verbose: int = 0, *, on_error: str = "raise",
                 background: bool = True, max_pending: int = 2,
                 run_metadata: dict[str, Any] | None = None, compress: bool = False,
                 critic: bool = False, coalesce: bool = False) -> None:
        save_freq, keep_last, max_pending = _check_arguments(
            save_freq, save_path, name_prefix, keep_last, verbose, on_error, background, max_pending)
        if not isinstance(compress, bool | np.bool_):
            raise ValueError(f"compress must be True or False, got {compress!r}.")
        if not isinstance(critic, bool | np.bool_):
            raise ValueError(f"critic must be True or False, got {critic!r}.")
        if not isinstance(coalesce, bool | np.bool_):
            raise ValueError(f"coalesce must be True or False, got {coalesce!r}.")
        if coalesce and not background:
            raise ValueError("coalesce=True needs background=True: without the background writer "
                             "there is nothing to coalesce.")
        super().__init__(int(verbose))
        self.save_path_template = os.fspath(save_path)
        self.placeholders = _placeholders(self.save_path_template)
        self.run_metadata = _check_run_metadata(run_metadata)
        self.save_freq = save_freq
        self.save_path = Path(save_path)
        self.name_prefix = name_prefix
        self.keep_last = keep_last
        self.on_error = on_error
        self.background = background
        self.max_pending = max_pending
        self.compress = bool(compress)
        self.critic = bool(critic)
        self.coalesce = bool(coalesce)
        self.coalesced = 0  # snapshots replaced by a newer one before the worker took them
        self.export_folder: ExportFolder | None = None
        self.last_committed: Committed | None = None
        self.committed: list[Committed] = []
        self.stalls: list[float] = []
        self.errors: list[BaseException] = []
        self._writer: BackgroundWriter | None = None
        self._snapshotter: Snapshotter | None = None
        self._next_version = 1
        self._last_timesteps: int | None = None
        self._thread: threading.Thread | None = None
        self._learn_id: Any = None
        self._finalizer: weakref.finalize | None = None
        self._group: list[Snapshot] = []  # written, waiting for one manifest replace (worker)
        self._group_start = 0.0
        self._pending: Snapshot | None = None  # coalesce: the newest snapshot not yet taken
        self._pending_lock = threading.Lock()

    def _init_callback(self) -> None:
        self.close(report=False)  # a previous learn() that did not end cleanly
        self._pending = None
        self.save_path = self._resolve_save_path()
        self.save_path = Path(os.path.abspath(self.save_path))  # once: chdir may follow
        folding, program = self._translate()  # unsupported -> UnsupportedError; nothing written
        self._snapshotter = Snapshotter(self.model, buffers=self.max_pending + 2,
                                        env_folding=folding, critic=self.critic)
        folder = self._open_folder(folding, program)
        self.export_folder = folder
        self._next_version = folder.next_version
        self._last_timesteps = folder.latest["num_timesteps"] if folder.latest else None
        if self.background and self.parent is None:
            self._writer = BackgroundWriter(f"matlab-export-{self.save_path.name}",
                                            self.max_pending)
        self._thread = threading.current_thread()
        _HOLDERS[_folder_key(self.save_path)] = self
        # released even if nobody calls close(): an abandoned callback must not keep the lock
        self._finalizer = weakref.finalize(self, _release, self._writer, folder)
        if self.verbose >= 2:
            print(f"MatlabExportCallback: writing to {self.save_path} from version "
                  f"{self._next_version} ({self._snapshotter.mode} snapshots); removed "
                  f"{len(folder.cleaned)} stale file(s)")

    def _translate(self) -> tuple[EnvFolding, Program]:
        """Check the model and its training env and translate them (nothing is written)."""
        folding = fold_env(self.model.get_env())  # refuses wrappers it cannot reproduce
        venv = folding.vec_normalize
        check_finite_statistics(venv)
        check_stack_matches(folding, self.model.policy.observation_space)
        if folding.frame_stack is not None:
            check_frame_space(folding.frame_space)
        program = build_program(self.model, None if folding.normalize_inside else venv,
                                critic=self.critic, env=folding.env)
        return folding, program

    def _open_folder(self, folding: EnvFolding, program: Program) -> ExportFolder:
        """Lock and open the export folder, install the runtime and the generated function."""
        folder = ExportFolder(self.save_path, self.name_prefix, self.keep_last,
                              write_file=self._write_file, stage_hook=self._stage_hook,
                              compress=self.compress)
        self._learn_id = getattr(self.model, "start_time", None)  # set by each learn()
        self._take_over_stale_holder()
        folder.open(_algorithm_name(self.model),
                    run=self._run_metadata(folding.vec_normalize, folding))
        try:
            if self.background and self.parent is None:  # overlaps training; before any commit
                folder.start_runtime_install(_runtime_source())
            else:
                folder.install_runtime(_runtime_source())
        except OSError as exc:
            folder.close()
            raise ExportFolderError(f"Cannot copy the MATLAB runtime into "
                                    f"{str(self.save_path / 'matlab')!r}: {exc}.") from exc
        try:
            self._write_matlab_function(program, folding)
        except BaseException:
            folder.close()
            raise
        return folder

    def _write_matlab_function(self, program: Program, folding: EnvFolding) -> None:
        """Write ``matlab/{name_prefix}_predict.m``, the generated function of this run.

        It computes this run's architecture (docs/simulink.md), with its env's frame stack;
        it is replaced atomically, and only when it changed.

        :raises ExportFolderError: it cannot be written.
        """
        from .bundle.bundle import observation_stats
        from .generate import function_name, load_program_spec, render_matlab_function
        from .translate.spaces import matlab_field_name
        from .translate.wrappers import frame_stack_field

        inside = folding.vec_normalize if folding.normalize_inside else None
        spec = load_program_spec(program, algorithm=_algorithm_name(self.model),
                                 observation_space=describe_space(self.model.observation_space),
                                 frame_stack=frame_stack_field(folding, matlab_field_name,
                                                               observation_stats(inside)))
        name = function_name(self.name_prefix)
        path = self.save_path / "matlab" / f"{name}.m"
        data = render_matlab_function(spec, name).encode()
        try:
            if not (path.is_file() and path.read_bytes() == data):
                path.parent.mkdir(parents=True, exist_ok=True)  # the runtime may still be copying
                atomic_write_bytes(path, data, temp_suffix=".tmp")
        except OSError as exc:
            raise ExportFolderError(f"Cannot write the generated MATLAB function {str(path)!r}: "
                                    f"{exc}.") from exc

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
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._writer is not None:
            self._writer.close()
            outcomes = self._writer.drain()
            self._writer = None
        if self._group:  # the last task commits its group; this is a safety net
            outcomes.append(Outcome(value=self._commit_group()))
        if self.export_folder is not None and not outcomes:
            try:  # no export committed: a failed runtime copy is still reported
                self.export_folder.wait_runtime()
            except ExportFolderError as exc:
                outcomes.append(Outcome(error=exc))
        if self.export_folder is not None:
            self.export_folder.close()
            if _HOLDERS.get(_folder_key(self.export_folder.folder)) is self:
                del _HOLDERS[_folder_key(self.export_folder.folder)]
        if report:
            self._report(outcomes)
        else:  # still known to the caller, never raised
            self.errors += [o.error for o in outcomes if o.error is not None]
            self.errors += [r.error for o in outcomes if o.error is None for r in o.value
                            if r.error is not None]

    def _take_over_stale_holder(self) -> None:
        """Close the callback of this process that holds ``save_path`` if its ``learn()`` is over.

        SB3 gives no training end after an exception (Ctrl-C included) in ``learn()``, so
        that callback still holds the folder's lock and its writer thread. It is over when
        it was opened by another ``learn()`` call in this thread (one thread runs one
        ``learn()`` at a time) or by a thread that has ended. A holder in the same
        ``learn()`` call, or in another live thread, is a real second writer: the lock
        refuses it.
        """
        holder = _HOLDERS.get(_folder_key(self.save_path))
        if holder is None or holder is self or holder._thread is None:
            return
        same_learn = holder.model is self.model and holder._learn_id == self._learn_id
        other_live_thread = (holder._thread is not threading.current_thread()
                             and holder._thread.is_alive())
        if same_learn or other_live_thread:
            return
        if self.verbose >= 1:
            print(f"MatlabExportCallback: taking {self.save_path} over from a callback whose "
                  "learn() ended without training end (an exception or Ctrl-C)")
        holder.close(report=False)

    def _export(self, trigger: str | None = None) -> None:
        """Take a snapshot and hand it to the writer (or commit it now)."""
        start = time.perf_counter()
        assert self._snapshotter is not None and self.export_folder is not None
        if self.coalesce and self._writer is not None:
            self._export_coalesced(trigger, start)
            return
        version = self._next_version
        self._next_version += 1
        self.export_folder.reserve(version)  # never handed out again, even if it fails
        try:
            snap = self._snapshotter.take(version, trigger or self._trigger())
        except Exception as exc:  # a direct-mode build refused the model (e.g. NaN weights)
            self._failed(version, exc)
            return
        if self._writer is not None:
            self._writer.submit(lambda: self._commit(snap))
            self.stalls.append(time.perf_counter() - start)
        else:
            self.stalls.append(time.perf_counter() - start)
            self._report([Outcome(value=self._commit(snap))])
        self.logger.record("matlab_export/stall_ms", 1e3 * self.stalls[-1])

    def _export_coalesced(self, trigger: str | None, start: float) -> None:
        """Make a snapshot the one the writer takes next, replacing a waiting one."""
        assert self._snapshotter is not None and self._writer is not None
        try:
            snap = self._snapshotter.take(0, trigger or self._trigger())  # numbered when taken
        except Exception as exc:  # a direct-mode build refused the model (e.g. NaN weights)
            self._failed(None, exc)
            return
        with self._pending_lock:
            replaced, self._pending = self._pending, snap
        if replaced is None:
            self._writer.submit(self._commit_pending)
        else:
            self._snapshotter.discard(replaced)
            self.coalesced += 1
            self.logger.record("matlab_export/coalesced", self.coalesced)
        self.stalls.append(time.perf_counter() - start)
        self.logger.record("matlab_export/stall_ms", 1e3 * self.stalls[-1])

    def _commit_pending(self) -> list[_Result]:
        """Commit the newest waiting snapshot under the next version (worker, ``coalesce=True``)."""
        with self._pending_lock:
            snap, self._pending = self._pending, None
        if snap is None:
            return []
        assert self.export_folder is not None
        snap.version = self._next_version  # only this thread numbers them in this mode
        self._next_version += 1
        self.export_folder.reserve(snap.version)
        if snap.bundle is not None:  # built at the snapshot (direct mode)
            snap.bundle["version"] = float(snap.version)
        return self._commit(snap)

    def _trigger(self) -> str:
        """Name what calls this callback: its own step count or a parent's event."""
        if self.parent is None:
            return "save_freq"
        if getattr(self.parent, "callback_on_new_best", None) is self:
            return "new_best"
        return "event"

    def _commit(self, snap: Snapshot) -> list[_Result]:
        """Build and write one snapshot; commit the group once no export waits (worker); never raises.

        :return: the results of the snapshots this call settled: none while the group
            grows, the whole group when it commits, and this snapshot when it failed.
        """
        results = []
        try:
            assert self.export_folder is not None and self._snapshotter is not None
            bundle = self._snapshotter.build(snap)
            self.export_folder.stage(bundle, ep_rew_mean=snap.ep_rew_mean, trigger=snap.trigger)
            if not self._group:
                self._group_start = time.perf_counter()
            self._group.append(snap)
        except Exception as exc:
            results.append(_Result(snap, error=exc))
        if self._group and self._group_due():
            results += self._commit_group()
        return results

    def _group_due(self) -> bool:
        """Whether to commit the staged group now: no export waits, or the group is full or old."""
        writer = self._writer
        return (writer is None or writer.waiting == 0 or len(self._group) >= GROUP_MAX
                or time.perf_counter() - self._group_start >= GROUP_SECONDS)

    def _commit_group(self) -> list[_Result]:
        """Commit the staged bundles with one manifest replace; never raises."""
        group, self._group = self._group, []
        try:
            assert self.export_folder is not None
            committed = self.export_folder.commit_staged()
        except Exception as exc:  # the manifest was not replaced: the whole group failed
            return [_Result(snap, error=exc) for snap in group]
        return [_Result(snap, committed=c) for snap, c in zip(group, committed, strict=True)]

    def _report(self, outcomes: list[Outcome]) -> None:
        """Log finished writes; raise or warn about failed ones (training thread)."""
        for outcome in outcomes:
            if outcome.error is not None:
                self._failed(None, outcome.error)
                continue
            for result in outcome.value:
                if result.error is not None:
                    self._failed(result.snapshot.version, result.error)
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
        what = "a snapshot" if version is None else f"version {version}"
        message = (f"MatlabExportCallback could not export {what} to "
                   f"{str(self.save_path)!r}: {error}. The manifest is intact; its latest "
                   f"version is {latest}.")
        if self.on_error == "warn":
            warnings.warn(f"{message} Training continues.", ExportWarning, stacklevel=3)
            return
        self.close(report=False)
        if isinstance(error, OSError) and error.errno is not None:
            raise ExportFolderError(error.errno, message) from error
        raise ExportError(message) from error

    def _resolve_save_path(self) -> Path:
        """Fill ``save_path``'s placeholders in from the model (at training start)."""
        if not self.placeholders:
            return Path(self.save_path_template.format())  # only {{ and }} to undo
        env_id = _env_id(self.model)
        values = {"algorithm": _algorithm_name(self.model),
                  "env_id": None if env_id is None else re.sub(r"[^A-Za-z0-9_.-]", "_", env_id),
                  "seed": self.model.seed}
        why = {"env_id": "the training env has no Gymnasium id (it was not made by gym.make)",
               "seed": "the model has no seed (pass seed=... to the algorithm)"}
        for name in self.placeholders:
            if values[name] is None:
                raise ValueError(f"save_path {self.save_path_template!r} uses {{{name}}}, but "
                                 f"{why[name]}. Write that part of save_path out instead.")
        return Path(self.save_path_template.format(**values))

    def _run_metadata(self, venv: VecNormalize | None, folding: EnvFolding) -> dict[str, Any]:
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
            "frame_stack": (int(folding.frame_stack.stacked_obs.n_stack)
                            if folding.frame_stack is not None else None),
            "critic": self.critic,
            "name_prefix": self.name_prefix,
            "save_freq": self.save_freq,
            "keep_last": self.keep_last,
            "package_version": __version__,
            "sb3_version": stable_baselines3.__version__,
            "torch_version": th.__version__,
            "python_version": platform.python_version(),
            "started": utc_now(),
            "seed": model.seed,
            **self.run_metadata,
        }


def _check_arguments(save_freq: Any, save_path: Any, name_prefix: Any, keep_last: Any,
                     verbose: Any, on_error: Any, background: Any,
                     max_pending: Any) -> tuple[int, int | None, int]:
    """Check every argument before anything touches the folder.

    :return: ``save_freq``, ``keep_last`` and ``max_pending`` as Python ints (NumPy
        integers are accepted).
    :raises ValueError: naming the argument.
    """
    if not _is_integer(save_freq) or save_freq < 1:
        raise ValueError(f"save_freq must be a positive integer, got {save_freq!r}.")
    if not isinstance(save_path, str | os.PathLike) or not os.fspath(save_path):
        raise ValueError(f"save_path must be a non-empty path, got {save_path!r}.")
    if not isinstance(name_prefix, str) or not NAME_PREFIX_PATTERN.fullmatch(name_prefix):
        raise ValueError(f"name_prefix must be letters, digits, '_', '.' or '-' and start with "
                         f"a letter or digit, got {name_prefix!r}.")
    longest = len(bundle_file_name(name_prefix, 1).encode())
    if longest > MAX_FILE_NAME_BYTES:
        raise ValueError(f"name_prefix is too long: bundle file names "
                         f"({bundle_file_name('{name_prefix}', 1)}) would have {longest} bytes, "
                         f"more than the {MAX_FILE_NAME_BYTES} a file name may have.")
    if keep_last is not None and (not _is_integer(keep_last) or keep_last < 1):
        raise ValueError(f"keep_last must be None or a positive integer, got {keep_last!r}.")
    if not (_is_integer(verbose) or isinstance(verbose, bool)) or verbose < 0:
        raise ValueError(f"verbose must be an integer >= 0 (0, 1 or 2), got {verbose!r}.")
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be 'raise' or 'warn', got {on_error!r}.")
    if not isinstance(background, bool | np.bool_):
        raise ValueError(f"background must be True or False, got {background!r}.")
    if not _is_integer(max_pending) or not 1 <= max_pending <= MAX_PENDING_LIMIT:
        raise ValueError(f"max_pending must be an integer from 1 to {MAX_PENDING_LIMIT}, "
                         f"got {max_pending!r}.")
    return int(save_freq), None if keep_last is None else int(keep_last), int(max_pending)


def _is_integer(value: Any) -> bool:
    """Whether ``value`` is an integer (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def _folder_key(path: Path) -> str:
    return os.path.normcase(os.path.realpath(path))


def _release(writer: BackgroundWriter | None, folder: ExportFolder) -> None:
    """Finish a callback's pending writes and release its folder (its finalizer)."""
    if writer is not None:
        writer.close()
    folder.close()


def _placeholders(template: str) -> tuple[str, ...]:
    """Return the placeholders in ``save_path``; raise ``ValueError`` for unknown ones."""
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise ValueError(f"save_path {template!r} is not a valid template ({exc}); write {{{{ and "
                         f"}}}} for literal braces.") from None
    for field in fields:
        if field not in PLACEHOLDERS:
            raise ValueError(f"save_path {template!r} has the placeholder {{{field}}}; the "
                             f"placeholders are {', '.join('{' + p + '}' for p in PLACEHOLDERS)} "
                             f"(write {{{{ and }}}} for literal braces).")
    return tuple(dict.fromkeys(fields))


def _check_run_metadata(run_metadata: dict[str, Any] | None) -> dict[str, Any]:
    if run_metadata is None:
        return {}
    if not isinstance(run_metadata, dict) or not all(isinstance(k, str) for k in run_metadata):
        raise ValueError(f"run_metadata must be a dict with string keys, got {run_metadata!r}.")
    try:
        json.dumps(run_metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"run_metadata must be JSON-serializable: {exc}.") from None
    return dict(run_metadata)


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
