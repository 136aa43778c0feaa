"""Where tests find things: the repository, the test data, and ../shared (the validator's
schemas, the sample records), which sits beside the repository and may be absent."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
SHARED = REPO.parent / "shared"
ATOM_RNG = SHARED / "validator" / "schema" / "atom.rng"
# The full checker harness (W3C Feed Validation Service and the rest), set up beside the
# repository by hand as ../shared/validator/README.md says: it needs a fetched repository, so CI
# cannot build it and tests marked `w3c_validator` are deselected (not skipped) without it.
VALIDATOR = REPO.parent / "validator" / "validate_feed"
