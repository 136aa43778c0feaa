"""Where tests find things: the repository, the test data, and ../shared (the validator's
schemas, the sample records), which sits beside the repository and may be absent."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
SHARED = REPO.parent / "shared"
ATOM_RNG = SHARED / "validator" / "schema" / "atom.rng"
