"""Fuzz the record validator: parse_article and parse_category, on JSON values built
from the bytes and on the bytes through the strict decoder.

    python tests/fuzz/fuzz_records.py -max_total_time=60 tests/fuzz/corpus/records

takes any libFuzzer flag; ``make fuzz`` (tests/fuzz/run.py) runs every target this way.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz.harness import run  # noqa: E402 - after the path that makes it importable

if __name__ == "__main__":
    run("records")
