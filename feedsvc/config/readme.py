"""The README's configuration table, generated from the settings table of :mod:`feedsvc.config`.

    python -m feedsvc.config.readme            # print the table
    python -m feedsvc.config.readme --write    # rewrite it in README.md, between the markers

The table sits between two marker lines of README.md; nothing else of the file is touched.
tests/unit/test_config.py fails when the README's table and the settings disagree.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from feedsvc.config import TABLE, Declaration
from feedsvc.config.parsers import REPO_ROOT

README = REPO_ROOT / "README.md"
TABLE_BEGIN = "<!-- settings:begin (generated: python -m feedsvc.config.readme --write) -->"
TABLE_END = "<!-- settings:end -->"


def shown_default(declared: Declaration) -> str:
    """The default as the README shows it: the raw value, its note, or "unset"."""
    value = f"`{declared.default.replace('{repo}', '<repo>')}`" if declared.default else ""
    if value and declared.note:
        return f"{value} ({declared.note})"
    return value or declared.note or "unset"


def markdown_table() -> str:
    """The configuration table, one row per setting, in declaration order."""
    lines = ["| variable | meaning | default |", "|---|---|---|"]
    for row in TABLE:
        declared = row.declared
        lines.append(f"| `{row.variable}` | {declared.meaning} | {shown_default(declared)} |")
    return "\n".join(lines) + "\n"


def with_table(readme: str) -> str:
    """``readme`` with the lines between the two marker lines replaced by the table."""
    before, begin, rest = readme.partition(TABLE_BEGIN + "\n")
    _, end, after = rest.partition(TABLE_END)
    if not begin or not end:
        raise ValueError(
            f"no line '{TABLE_BEGIN}' followed by a line '{TABLE_END}' to put the table between; "
            "add them where the table goes"
        )
    return f"{before}{begin}{markdown_table()}{end}{after}"


def main(argv: list[str] | None = None) -> None:
    """Print the table, or with ``--write`` put it into the README."""
    parser = argparse.ArgumentParser(
        prog="python -m feedsvc.config.readme",
        description="Print the README's configuration table, generated from feedsvc/config.py.",
    )
    parser.add_argument(
        "--write",
        nargs="?",
        const=README,
        type=Path,
        metavar="README",
        help=f"rewrite the table between the marker lines of README (default: {README})",
    )
    args = parser.parse_args(argv)
    if args.write is None:
        print(markdown_table(), end="")
        return
    path: Path = args.write
    try:
        path.write_text(with_table(path.read_text(encoding="utf-8")), encoding="utf-8")
    except (OSError, ValueError) as exc:
        parser.exit(1, f"{parser.prog}: {path}: {exc}\n")


if __name__ == "__main__":
    main()
