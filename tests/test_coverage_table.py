"""The README's coverage table is generated from the parity matrix and kept in sync."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from matrix import CASES, COVERAGE_END, COVERAGE_START, coverage_table

ROOT = Path(__file__).resolve().parent.parent


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("coverage_table",
                                                  ROOT / "scripts" / "coverage_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_has_the_generated_table() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count(COVERAGE_START) == 1 and text.count(COVERAGE_END) == 1
    start = text.index(COVERAGE_START)
    end = text.index(COVERAGE_END) + len(COVERAGE_END)
    assert text[start:end] == coverage_table(), (
        "README.md's coverage table is stale: run python scripts/coverage_table.py --write")
    assert "## Coverage" in text[:start]


def test_table_shows_the_whole_matrix() -> None:
    table = coverage_table()
    assert "**missing**" not in table
    assert f"Every one of the {len(CASES)} cases" in table
    for algo in ("A2C", "DDPG", "DQN", "PPO", "SAC", "TD3", "ARS", "CrossQ", "MaskablePPO",
                 "QR-DQN", "RecurrentPPO", "TQC", "TRPO", "HER"):
        assert f"\n| {algo} |" in table


def test_table_follows_the_cases() -> None:
    """A case removed from the matrix changes the table (it is not hand-written)."""
    fewer = [c for c in CASES if not (c.algo == "DQN" and c.column == "Image")]
    assert coverage_table(fewer) != coverage_table()
    assert "**missing**" in coverage_table(fewer)


def test_write_inserts_before_extending_and_replaces_in_place() -> None:
    script = _script()
    table = coverage_table()
    fresh = script.updated_readme("# T\n\n## Usage\n\ntext\n\n## Extending\n\nmore\n", table)
    assert fresh.index("## Coverage") < fresh.index("## Extending")
    assert script.updated_readme(fresh, table) == fresh
    stale = fresh.replace("| DQN |", "| DQN (old) |")
    assert script.updated_readme(stale, table) == fresh
    at_end = script.updated_readme("# T\n\ntext\n", table)
    assert at_end.rstrip().endswith(COVERAGE_END)
