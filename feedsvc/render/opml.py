"""OPML 2.0 (http://opml.org/spec2.opml): the subscription list of every feed, our own code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from feedsvc.render._common import clean_text, rfc822

MEDIA_TYPE = "text/x-opml; charset=utf-8"
DOCS_URL = "http://opml.org/spec2.opml"


@dataclass(frozen=True, slots=True)
class Outline:
    """One subscription: OPML 2.0 §"Subscription lists" (type rss, text and xmlUrl required)."""

    text: str
    xml_url: str
    title: str | None = None
    html_url: str | None = None
    description: str | None = None
    type: str = "rss"
    language: str | None = "vi"


@dataclass(frozen=True, slots=True)
class OpmlDocument:
    """An OPML document: head fields and a flat list of subscription outlines."""

    title: str
    date_modified: datetime  # aware; written with its own offset
    outlines: tuple[Outline, ...] = ()
    owner_name: str | None = None
    owner_id: str | None = None  # OPML 2.0 ownerId: an http(s) URL of the owner


def render(document: OpmlDocument) -> bytes:
    """The document as OPML 2.0 (UTF-8 bytes); the same document gives the same bytes."""
    root = etree.Element("opml", version="2.0")
    _head(etree.SubElement(root, "head"), document)
    body = etree.SubElement(root, "body")
    for outline in document.outlines:
        body.append(_outline(outline))
    data: bytes = etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)
    return data


def _head(head: etree._Element, document: OpmlDocument) -> None:
    _text(head, "title", document.title)
    # OPML 2.0 "<head>": dates are RFC 822.
    _text(head, "dateModified", rfc822(document.date_modified, None))
    if document.owner_name:
        _text(head, "ownerName", document.owner_name)
    if document.owner_id:
        _text(head, "ownerId", document.owner_id)
    _text(head, "docs", DOCS_URL)


def _outline(outline: Outline) -> etree._Element:
    attrib = {"type": outline.type, "text": clean_text(outline.text)}
    optional = {
        "title": outline.title,
        "xmlUrl": outline.xml_url,
        "htmlUrl": outline.html_url,
        "description": outline.description,
        "language": outline.language,
    }
    attrib.update({k: clean_text(v) for k, v in optional.items() if v})
    if outline.type == "rss":
        attrib["version"] = "RSS2"
    return etree.Element("outline", attrib)


def _text(parent: etree._Element, tag: str, value: str) -> None:
    etree.SubElement(parent, tag).text = clean_text(value)
