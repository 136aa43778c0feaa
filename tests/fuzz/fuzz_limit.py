"""Fuzz the ?limit parser, parse_limit, on any query string.

    python tests/fuzz/fuzz_limit.py -max_total_time=60 tests/fuzz/corpus/limit

takes any libFuzzer flag; ``make fuzz`` (tests/fuzz/run.py) runs every target this way.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz.harness import run  # noqa: E402 - after the path that makes it importable

if __name__ == "__main__":
    run("limit")
