"""Strict JSON for everything that comes in: no NaN/Infinity, no duplicate keys, bounded nesting
and bounded numbers."""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32
# RFC 8259 §6 lets a parser limit the range and precision of numbers. No field takes a number
# longer than 19 digits (image.length < 2**63), a double needs at most 17 significant digits and
# a three-digit exponent, so 100 characters refuse nothing real and keep int() far from its
# 4300-digit ValueError (and its quadratic cost below that).
MAX_NUMBER_CHARS = 100


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


def _check_length(text: str) -> None:
    if len(text) > MAX_NUMBER_CHARS:
        raise JSONError(
            f"a number of {len(text)} characters ({text[:12]}…); at most {MAX_NUMBER_CHARS} are "
            "accepted: send an identifier as a string"
        )


def _parse_int(text: str) -> int:
    _check_length(text)
    return int(text)


def _parse_float(text: str) -> float:
    _check_length(text)
    value = float(text)
    if math.isinf(value):
        # float() rounds 1e400 to inf, which JSON cannot carry back out (as for Infinity itself).
        raise JSONError(f"the number {text} is beyond the range of a 64-bit float (±1.8e308)")
    return value


# Built once: json.loads with any option builds a new decoder per call, which cost a third of
# parsing a 2.5 kB article line.
_DECODER = json.JSONDecoder(
    parse_constant=_reject_constant,
    object_pairs_hook=_no_duplicates,
    parse_int=_parse_int,
    parse_float=_parse_float,
)


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
