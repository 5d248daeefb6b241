"""Run the +sb3 runtime in GNU Octave, the stand-in for MATLAB.

Octave is the real client: nothing here mocks it. Without Octave a test skips with
a clear reason, except under CI (``CI=true``), where a missing Octave is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io

from sb3_matlab_callback import matlab_path

OCTAVE = shutil.which("octave-cli") or shutil.which("octave")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_octave() -> str:
    """Return the Octave executable, or skip (fail under CI) when there is none."""
    if OCTAVE:
        return OCTAVE
    reason = "GNU Octave is not installed (apt-get install -y octave); Octave tests need it"
    if IN_CI:
        pytest.fail(f"{reason}. CI=true: a missing Octave is a failure, not a skip.")
    pytest.skip(reason)


def run_octave(script: str, cwd: Path, timeout: float = 600, check: bool = True,
               extra_paths: tuple[Path, ...] = ()) -> subprocess.CompletedProcess:
    """Run ``script`` in a fresh Octave with the ``+sb3`` runtime on the path."""
    exe = require_octave()
    paths = "".join(f"addpath('{p}');\n" for p in (matlab_path(), *extra_paths))
    path = Path(cwd) / "octave_script.m"
    path.write_text(paths + textwrap.dedent(script))
    proc = subprocess.run(
        [exe, "--no-gui", "--norc", "--quiet", "--no-window-system", str(path)],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"Octave failed (exit {proc.returncode}).\n--- stdout\n{proc.stdout}\n"
            f"--- stderr\n{proc.stderr}"
        )
    return proc


@dataclass
class PredictCall:
    """One ``sb3.predict`` call to make in Octave: bundle, observation, options."""

    bundle: Path
    obs: Any
    options: str = ""  # MATLAB source of extra name/value pairs, e.g. "'Deterministic', false"
    extra: dict[str, Any] = field(default_factory=dict)  # more variables for `options`
    verify: bool = True
    repeat: int = 1  # calls with the same observation (for sampling statistics)


def octave_predict_many(calls: list[PredictCall], workdir: Path) -> list[dict[str, Any]]:
    """Run every call in one Octave process; return per call ``action``, ``err`` or ``error``.

    Besides the batch call, each deterministic call with several rows also predicts
    the first observation alone, as a row and as a column (``single_row``/``single_col``).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    for index, call in enumerate(calls):
        scipy.io.savemat(workdir / f"in_{index}.mat",
                         {"obs": call.obs, "bundle": str(call.bundle), **call.extra},
                         long_field_names=True)
    blocks = [_call_block(index, call) for index, call in enumerate(calls)]
    run_octave("\n".join(blocks), workdir)
    results = []
    for index in range(len(calls)):
        out = scipy.io.loadmat(workdir / f"out_{index}.mat", simplify_cells=False)
        results.append({key: _plain(value) for key, value in out.items()
                        if not key.startswith("__")})
    return results


def _call_block(index: int, call: PredictCall) -> str:
    opts = f", {call.options}" if call.options else ""
    single = ""
    if not call.options and not isinstance(call.obs, dict) and np.ndim(call.obs) == 2:
        single = """
  r.single_row = sb3.predict(p, d.obs(1, :));
  r.single_col = sb3.predict(p, d.obs(1, :).');"""
    verify = "  r.err = sb3.verify(p);" if call.verify else ""
    return f"""
r = struct();
try
  d = load('in_{index}.mat');
  p = sb3.load_policy(d.bundle);
{verify}
  if {call.repeat} == 1
    r.action = sb3.predict(p, d.obs{opts});
  else
    r.action = [];
    for k = 1:{call.repeat}
      r.action = [r.action; sb3.predict(p, d.obs{opts})];
    end
  end{single}
catch e
  r.error = [e.identifier ': ' e.message];
end
save('-v7', 'out_{index}.mat', '-struct', 'r');
"""


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return str(value.item()) if value.size else ""
    return value
