"""Standing checks: lint, the MATLAB/Octave portable subset, README <-> CI consistency."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "sb3_matlab_callback" / "matlab" / "+sb3"
M_FILES = sorted(RUNTIME.rglob("*.m")) + sorted((ROOT / "examples").rglob("*.m"))
# Octave-only syntax that MATLAB rejects, and MATLAB-only features Octave lacks.
FORBIDDEN = {
    r'"': "double-quoted strings (use single-quoted char)",
    r"#": "'#' comments (use '%')",
    r"!=|!\w|!\(": "'!' negation (use '~')",
    r"\+\+|--(?!-)|\+=|-=|\*=|/=": "C-style operators",
    r"\bend(function|if|for|while|switch|_try_catch|_unwind_protect)\b": "Octave-only 'end...'",
    r"\bunwind_protect\b": "unwind_protect",
    r"^\s*arguments\b": "arguments blocks",
    r"^\s*import\b": "import",
    # Strings are converted by +internal/text_args.m alone, with isa(x, 'string'), which
    # Octave also runs; no other file uses the string class.
    r"\bstring\(|\bstrings\(|\bisstring\(": "the string class (convert with sb3.internal.text_args)",
    r"\b(eval|evalin|str2func|feval)\s*\(": "code built from text (MATLAB Coder and MATLAB's parser)",
    r"(?<![fs])printf\(": "printf (use fprintf)",
}


def _code(line: str) -> str:
    """The line without its comment and char literals."""
    line = re.sub(r"'[^'\n]*'", "''", line)
    return line.split("%", 1)[0]


@pytest.mark.parametrize("path", M_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_matlab_portable_subset(path: Path) -> None:
    lines = path.read_text().splitlines()
    problems = [f"{path.name}:{n}: {what}" for n, line in enumerate(lines, 1)
                for pattern, what in FORBIDDEN.items() if re.search(pattern, _code(line))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", [p for p in M_FILES if p.is_relative_to(RUNTIME)],
                         ids=lambda p: p.name)
def test_runtime_file_layout(path: Path) -> None:
    lines = path.read_text().splitlines()
    assert lines[0].startswith("function "), "one function per file, declared on line 1"
    name = path.stem
    assert re.search(rf"\b{name}\s*\(", lines[0]), f"the function must be named {name}"
    assert sum(1 for line in lines if re.match(r"\s*function\b", line)) == 1, "one function per file"
    assert re.match(rf"%{name.upper()} \S", lines[1]), "H1 help line right after the signature"
    text = "\n".join(lines)
    assert "Example" in text, "help text gives an example"
    for ident in re.findall(r"error\('([^']*)'", text):
        assert re.fullmatch(r"sb3:\w+:\w+", ident), f"error id {ident!r} is not sb3:func:what"


#: Public functions that take no text argument at all.
NO_TEXT_ARGUMENTS = {"verify", "params"}


@pytest.mark.parametrize("path", sorted(RUNTIME.glob("*.m")), ids=lambda p: p.name)
def test_public_functions_normalise_string_arguments(path: Path) -> None:
    """Every public sb3 function passes its text arguments through sb3.internal.text_args."""
    if path.stem in NO_TEXT_ARGUMENTS:
        return
    code = _code_text(path)
    assert "sb3.internal.text_args(" in code or re.search(r"isa\(\w+, ''\)", code), (
        f"{path.name} takes text: convert string scalars with sb3.internal.text_args first")


def _code_text(path: Path) -> str:
    return "\n".join(_code(line) for line in path.read_text().splitlines())


def _generated_m_files(tmp_path: Path) -> list[Path]:
    """A generated function, where the package can generate one (issue #7, section 3)."""
    import sb3_matlab_callback

    if not hasattr(sb3_matlab_callback, "generate_matlab_function"):
        return []
    from stable_baselines3 import SAC

    model = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs={"net_arch": [8]}, device="cpu")
    bundle = sb3_matlab_callback.export_policy(model, tmp_path / "policy.mat")
    return [Path(sb3_matlab_callback.generate_matlab_function(bundle, tmp_path / "generated"))]


def _miss_hit(tool: str) -> list[str]:
    exe = shutil.which(tool)
    if exe:
        return [exe]
    reason = f"{tool} (MISS_HIT, pip install miss_hit) is not installed"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}; CI=true: the MATLAB lint gate must run.")
    pytest.skip(reason)


@pytest.mark.parametrize("tool", ["mh_lint", "mh_style"])
def test_miss_hit_finds_nothing_in_shipped_m_files(tool: str, tmp_path: Path) -> None:
    """MATLAB-mode lint and the project's style (miss_hit.cfg) on every .m file we ship."""
    cmd = _miss_hit(tool)
    generated = _generated_m_files(tmp_path)
    if generated:
        shutil.copy(ROOT / "miss_hit.cfg", tmp_path / "miss_hit.cfg")
    files = [*M_FILES, *sorted(ROOT.glob("**/generated/**/*.m")), *generated]
    proc = subprocess.run([*cmd, *map(str, files)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and "everything seems fine" in proc.stdout, proc.stdout + proc.stderr


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff")
    cmd = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    proc = subprocess.run([*cmd, "check", str(ROOT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _quickstart_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = re.search(r"^## Quickstart\n(.*?)^## ", text, re.S | re.M).group(1)
    return [block.strip() for block in re.findall(r"```(?:bash|sh)?\n(.*?)```", section, re.S)]


def test_quickstart_has_two_commands_and_ci_runs_the_second() -> None:
    commands = _quickstart_commands()
    assert len(commands) == 2, commands
    assert all("\n" not in c for c in commands), "each Quickstart block is one command"
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci.splitlines(), ".ci/run must run exactly the README's test command"
    assert "octave" in (ROOT / "scripts" / "setup.sh").read_text()


def test_changelog_follows_keep_a_changelog() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog")
    assert "## [Unreleased]" in text
    assert "keepachangelog.com" in text
