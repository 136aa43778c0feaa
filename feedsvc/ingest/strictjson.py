"""Strict JSON for everything that comes in: no NaN/Infinity, no duplicate keys, bounded nesting."""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32


class JSONError(ValueError):
    """The text is not acceptable JSON; the message says why."""


def _reject_constant(name: str) -> Any:
    raise JSONError(f"{name} is not valid JSON; send a number or null")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)  # one C call; a key given twice leaves the dict shorter than the pairs
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise JSONError(f"duplicate key {key!r} in one object")
            seen.add(key)
    return result


# Built once: json.loads with any option builds a new decoder per call, which cost a third of
# parsing a 2.5 kB article line.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)


def _depth(text: str) -> int:
    """The deepest nesting of brackets outside strings (checked before parsing, so that absurd
    nesting cannot exhaust the parser's recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def loads_strict(data: str | bytes) -> Any:
    """Parse JSON strictly; raise JSONError with a reason (position included) otherwise."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONError(f"not UTF-8 (byte {exc.start})") from None
    if data.startswith("\ufeff"):
        raise JSONError("starts with a byte order mark (U+FEFF): save it as UTF-8 without BOM")
    brackets = data.count("[") + data.count("{")
    if brackets > MAX_DEPTH and _depth(data) > MAX_DEPTH:
        raise JSONError(f"nested deeper than {MAX_DEPTH} levels")
    try:
        return _DECODER.decode(data)
    except JSONError:
        raise
    except json.JSONDecodeError as exc:
        raise JSONError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise JSONError(f"nested deeper than {MAX_DEPTH} levels") from None
