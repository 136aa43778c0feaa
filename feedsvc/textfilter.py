"""Dropping the characters a feed must not carry, fast on the clean text that is nearly all of it.

Two filters share this code: :mod:`feedsvc.ingest.records` removes what the interface removes on
input, and the renderers remove it again (DEL too) so that a record that slipped past can never
make a feed ill-formed.
"""

from __future__ import annotations

import re
import unicodedata


class CharFilter:
    """A set of characters to drop: a regex class, and its members that are single UTF-8 bytes."""

    __slots__ = ("pattern", "_bytes")

    def __init__(self, chars: str, single_bytes: bytes) -> None:
        self.pattern = re.compile(f"[{chars}]")
        self._bytes = single_bytes

    def found_in(self, value: str) -> bool:
        """Whether ``value`` holds a character of :attr:`pattern`."""
        # Each character filtered is a control (Cc), a surrogate (Cs) or a noncharacter (Cn),
        # none of them printable, so most text is settled by one C loop. Text with tabs or
        # newlines is encoded and its bytes checked, still a few times faster than the regex over
        # a 5 kB body: the regex runs only when the UTF-8 bytes hint at a C1 control (C2 80-9F)
        # or at U+FFFE/U+FFFF (EF BF BE/BF); a lone surrogate cannot be encoded at all.
        if value.isprintable():
            return False
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        if b"\xc2" in data or b"\xef" in data:
            return self.pattern.search(value) is not None
        return len(data.translate(None, self._bytes)) != len(data)

    def clean(self, value: str) -> str:
        """``value`` without those characters, NFC-normalised."""
        # Remove first: a control between a letter and its combining mark would block composition.
        if self.found_in(value):
            value = self.pattern.sub("", value)
        return unicodedata.normalize("NFC", value)
