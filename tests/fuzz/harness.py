"""Starts atheris on one target of tests/fuzz/targets.py, with feedsvc instrumented.

The ``fuzz_*.py`` scripts call :func:`run`; every libFuzzer flag after the script passes through
(``-max_total_time=N``, ``-runs=N``, corpus directories, a crash file to replay).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(target: str) -> None:
    """Fuzz ``target`` (a key of targets.TARGETS) with the command line's libFuzzer flags."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # run as a script: import this worktree's feedsvc
    import atheris

    # Comparisons inside str.startswith/endswith reported to libFuzzer, as the bytecode's own
    # comparisons are. Not atheris' "RegEx" hook: its pattern proxy takes no ``pos`` argument,
    # which json and our If-None-Match parser pass; the dictionaries carry the regexes' tokens.
    atheris.enabled_hooks.add("str")
    # Coverage feedback comes from feedsvc's own code: every feedsvc module the targets import
    # gets atheris' edge counters; the standard library and Flask stay as they are.
    with atheris.instrument_imports(include=["feedsvc"]):
        from tests.fuzz.targets import TARGETS

    atheris.Setup(sys.argv, TARGETS[target])
    atheris.Fuzz()
