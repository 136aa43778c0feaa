"""If-Match and If-None-Match on one article of the ingest API (RFC 9110 §13.1.1, §13.1.2).

An article's entity-tag is its version (the hash of the stored record) in quotes: strong, so
equal tags mean equal bytes. A request's two header fields become one :class:`Conditions`,
evaluated against the stored version: in the write's own transaction for PUT and DELETE (so no
other write slips in between), against the article read for GET.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

# One list member (RFC 9110 §8.8.3): entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; empty list
# elements (a leading "," and OWS) are accepted as §5.6.1.2 requires.
_MEMBER = re.compile(r'[ \t,]*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|\Z)')
_TAIL = re.compile(r"[ \t,]*\Z")
_FORM = 'a list of entity-tags like "3f2a…" (as the ETag header gave them), or *'


class Outcome(Enum):
    """What the conditions say about a request: go on, or answer 304 or 412 instead."""

    PROCEED = "proceed"
    NOT_MODIFIED = "not modified"  # a GET whose If-None-Match matched: 304
    FAILED = "failed"  # 412 Precondition Failed


class MalformedCondition(ValueError):
    """A conditional header field that is not an entity-tag list nor ``*``: say how to fix it."""


def etag_of(version: str) -> str:
    """The strong entity-tag of an article version: its record hash in quotes."""
    return f'"{version}"'


@dataclass(frozen=True)
class TagList:
    """A parsed If-Match or If-None-Match value: ``*``, or entity-tags as (weak, opaque-tag)."""

    any: bool
    tags: tuple[tuple[bool, str], ...]

    def strong_match(self, version: str | None) -> bool:
        """If-Match (§13.1.1): ``*`` names any current article, a tag only its strong equal."""
        if version is None:
            return False
        return self.any or (False, etag_of(version)) in self.tags

    def weak_match(self, version: str | None) -> bool:
        """If-None-Match (§13.1.2): ``*`` names any current article, a tag its weak equal."""
        if version is None:
            return False
        return self.any or any(opaque == etag_of(version) for _, opaque in self.tags)


def parse_tags(name: str, value: str) -> TagList:
    """The tag list of header ``name``; MalformedCondition when it is not one."""
    field = value.strip(" \t")
    if field == "*":
        return TagList(True, ())
    tags: list[tuple[bool, str]] = []
    pos = 0
    while (member := _MEMBER.match(field, pos)) is not None:
        tags.append((member.group(1) is not None, f'"{member.group(2)}"'))
        pos = member.end()
    if not tags or _TAIL.match(field, pos) is None:
        raise MalformedCondition(f"{name} must be {_FORM}")
    return TagList(False, tuple(tags))


@dataclass(frozen=True)
class Conditions:
    """The If-Match and If-None-Match of one request (None: absent)."""

    if_match: TagList | None
    if_none_match: TagList | None

    def outcome(self, version: str | None, *, safe: bool) -> Outcome:
        """RFC 9110 §13.2.2 for an article whose stored version is ``version`` (None: none).

        If-Match first (false: 412); then If-None-Match (true for a safe method: 304; for
        others: 412). If-Modified-Since and If-Unmodified-Since are not used: articles have
        no modification date in the API, and §13.1.3/§13.1.4 have them ignored then.
        """
        if self.if_match is not None and not self.if_match.strong_match(version):
            return Outcome.FAILED
        if self.if_none_match is not None and self.if_none_match.weak_match(version):
            return Outcome.NOT_MODIFIED if safe else Outcome.FAILED
        return Outcome.PROCEED

    def holds(self, version: str | None) -> bool:
        """Whether a write (PUT, DELETE) may go on: the store's precondition."""
        return self.outcome(version, safe=False) is Outcome.PROCEED


def parse_conditions(if_match: str | None, if_none_match: str | None) -> Conditions | None:
    """The request's conditions, or None when it has neither header field."""
    if if_match is None and if_none_match is None:
        return None
    return Conditions(
        None if if_match is None else parse_tags("If-Match", if_match),
        None if if_none_match is None else parse_tags("If-None-Match", if_none_match),
    )
