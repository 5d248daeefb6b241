"""Standing checks: lint, the MATLAB/Octave portable subset, README <-> CI consistency."""

from __future__ import annotations

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
    r"\bstring\(|\bstrings\(|\bisstring\(": "the string class",
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
