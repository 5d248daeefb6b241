"""Print or update the README's coverage table, generated from the parity test matrix.

Usage:
    python scripts/coverage_table.py            # print the table
    python scripts/coverage_table.py --write    # update README.md between the markers
    python scripts/coverage_table.py --check    # exit 1 if README.md is out of date

The table comes from ``tests/matrix.py``, the case list the parity tests run, so it
cannot drift from what is tested. ``--write`` replaces the text between
``<!-- coverage:start -->`` and ``<!-- coverage:end -->``; when the markers are missing it
adds a ``## Coverage`` section right before ``## Extending`` (or at the end).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
sys.path.insert(0, str(ROOT / "tests"))

from matrix import COVERAGE_END, COVERAGE_START, coverage_table  # noqa: E402


def updated_readme(text: str, table: str) -> str:
    """Return ``text`` with ``table`` between the coverage markers (added if missing).

    :param text: the README's current text.
    :param table: the generated table, markers included.
    :return: the new README text.
    """
    if COVERAGE_START in text and COVERAGE_END in text:
        head, rest = text.split(COVERAGE_START, 1)
        _, tail = rest.split(COVERAGE_END, 1)
        return head + table + tail
    section = f"## Coverage\n\n{table}\n\n"
    if "\n## Extending" in text:
        head, tail = text.split("\n## Extending", 1)
        return f"{head}\n{section}## Extending{tail}"
    return text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="update README.md")
    group.add_argument("--check", action="store_true", help="fail if README.md is stale")
    args = parser.parse_args(argv)
    table = coverage_table()
    if not (args.write or args.check):
        print(table)
        return 0
    text = README.read_text(encoding="utf-8")
    new = updated_readme(text, table)
    if args.check:
        if new != text:
            print("README.md's coverage table is out of date: "
                  "run python scripts/coverage_table.py --write", file=sys.stderr)
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
