"""Strict JSON: every refusal names its reason; what it accepts is what json accepts."""

from __future__ import annotations

import json
import re

import pytest

from feedsvc.ingest.strictjson import JSONError, loads_strict

REFUSED = [
    (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
    (b'{"x": {"b": 1, "c": 2, "b": 3}}', "duplicate key 'b'"),
    (b'{"a": NaN}', "NaN is not valid JSON"),
    (b'{"a": -Infinity}', "-Infinity is not valid JSON"),
    (b'\xef\xbb\xbf{"a": 1}', "byte order mark"),
    (b'{"a": "\xff"}', "not UTF-8 (byte 7)"),
    (b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", "nested deeper than 32"),
    (b'{"a": 1', "invalid JSON"),
    (b'{"a": 1' + b"0" * 100 + b"}", "a number of 101 characters"),
    (b'{"a": 1e400}', "beyond the range of a 64-bit float"),
    (b'{"a": -1.5E+309}', "beyond the range of a 64-bit float"),
]


@pytest.mark.parametrize(("data", "reason"), REFUSED, ids=[r for _, r in REFUSED])
def test_refusals_name_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(JSONError, match=re.escape(reason)):
        loads_strict(data)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "b": [1, 2, {"c": null}], "d": "Biên phòng"}',
        "[]",
        '"x"',
        "1.5",
        '{"a": {}}',
        "-" + "9" * 99,  # 100 characters: the longest number accepted
        "[1e-400, 1.7976931348623157e308, -0]",  # underflow to 0 is no error
    ],
)
def test_accepted_json_parses_as_json_does(text: str) -> None:
    assert loads_strict(text) == json.loads(text)
    assert loads_strict(text.encode()) == json.loads(text)
