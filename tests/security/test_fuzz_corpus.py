"""The fuzz corpus replayed: every seed and every input that once crashed a fuzz target
(tests/fuzz/corpus/TARGET/) goes through the target's checks in the ordinary suite, so a crash
found by ``make fuzz`` stays fixed. The targets and what each asserts: tests/fuzz/targets.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.targets import TARGETS

CORPUS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus"
INPUTS = sorted(path for target in TARGETS for path in (CORPUS / target).iterdir())


def test_every_target_has_seeds() -> None:
    assert {path.parent.name for path in INPUTS} == set(TARGETS)


@pytest.mark.parametrize("path", INPUTS, ids=[f"{p.parent.name}/{p.name}" for p in INPUTS])
def test_corpus_input(path: Path) -> None:
    TARGETS[path.parent.name](path.read_bytes())
