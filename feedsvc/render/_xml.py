"""XML helpers of the RSS and Atom renderers: namespaces, post-processing, cutting into Parts.

feedgen builds the skeleton; its bytes are parsed back (our own output, so a plain parser is
safe) and the elements feedgen cannot write correctly are added with lxml before serialising.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from feedgen.ext.base import BaseExtension
from lxml import etree

from feedsvc.feed import Image
from feedsvc.render._common import Parts, image_type

ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"
MEDIA_NS = "http://search.yahoo.com/mrss/"
SY_NS = "http://purl.org/rss/1.0/modules/syndication/"

# Our own output, possibly with 500 kB bodies: no entities, no network, no size cap.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def namespace_extension(prefixes: dict[str, str]) -> type[BaseExtension]:
    """A feedgen extension that only declares ``prefixes`` on the root element.

    Declared once on the root, items need no declarations of their own, so each cut-out item
    is valid inside any head.
    """

    class _Namespaces(BaseExtension):
        def extend_ns(self) -> dict[str, str]:
            return dict(prefixes)

    return _Namespaces


def parse(document: bytes) -> etree._Element:
    """Parse feedgen's serialised output back into a tree we can post-process."""
    return etree.fromstring(document, _PARSER)


def sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    """Append a child element with optional text and attributes."""
    child = etree.SubElement(parent, tag, attrib)
    if text is not None:
        child.text = text
    return child


def insert_before_items(
    parent: etree._Element, item_tag: str, tag: str, text: str | None = None, **attrib: str
) -> etree._Element:
    """Add a channel/feed-level element after the metadata and before the first item."""
    child = etree.Element(tag, attrib)
    if text is not None:
        child.text = text
    first = parent.find(item_tag)
    if first is None:
        parent.append(child)
    else:
        first.addprevious(child)
    return child


def add_media(item: etree._Element, image: Image) -> None:
    """Media RSS elements of the lead photo, directly in the item (never in media:group).

    The caption is media:title inside media:content (Media RSS 1.5.1 "Optional Elements" may
    sit there). Not media:description: feedparser maps it onto the item's own description,
    replacing the summary or its type.
    """
    attrib = {"url": image.url, "medium": "image"}
    kind = image_type(image)
    if kind:
        attrib["type"] = kind
    if image.length:
        attrib["fileSize"] = str(image.length)
    content = sub(item, f"{{{MEDIA_NS}}}content", **attrib)
    if image.caption:
        sub(content, f"{{{MEDIA_NS}}}title", image.caption, type="plain")
    sub(item, f"{{{MEDIA_NS}}}thumbnail", url=image.url)


def cut(root: etree._Element, parent: etree._Element, items: Iterable[etree._Element]) -> Parts:
    """Serialise ``root`` and cut it into head, items and tail at marker PIs placed between items.

    A marker is a processing instruction: lxml escapes every ``<`` in text and attributes and we
    write no CDATA, so ``<?`` can only come from a real PI. The nonce, a hash of the document
    without markers, is deterministic; the marker count is checked all the same.
    """
    nodes = list(items)
    nonce = hashlib.sha256(etree.tostring(root)).hexdigest()[:16]
    target = f"feedsvc-cut-{nonce}"
    _place_markers(parent, nodes, target)
    document = etree.tostring(root, encoding="UTF-8", xml_declaration=True)
    marker = etree.tostring(etree.PI(target))  # lxml writes "<?target ?>"
    pieces = document.split(marker)
    expected = len(nodes) + 2 if nodes else 2
    if len(pieces) != expected:
        raise RuntimeError(
            f"render: found {len(pieces) - 1} cut markers, expected {expected - 1}; the feed "
            "cannot be cut into items safely (a bug in feedsvc.render._xml, please report it)"
        )
    return Parts(head=pieces[0], items=tuple(pieces[1:-1]), tail=pieces[-1], sep=b"")


def rss_profile_refs(parts: Parts) -> Parts:
    """Write ``&`` and ``<`` as ``&#x26;`` and ``&#x3C;`` (RSS Best Practices Profile, "Encoding").

    RSS readers disagree whether a title is text or HTML; the profile asks publishers to escape
    these two characters in plain text with hexadecimal references, which tells them apart from
    markup. lxml writes ``&amp;``/``&lt;`` only as escapes inside text and attribute values (we
    write no CDATA or comments), so swapping them for the equivalent references is exact.
    """

    def swap(data: bytes) -> bytes:
        return data.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")

    return Parts(
        head=swap(parts.head),
        items=tuple(swap(i) for i in parts.items),
        tail=swap(parts.tail),
        sep=parts.sep,
    )


def _place_markers(parent: etree._Element, nodes: list[etree._Element], target: str) -> None:
    """Put a marker before every item and after the last (or where items would go)."""
    if not nodes:
        parent.append(etree.PI(target))
        return
    for node in nodes:
        node.tail = None  # no whitespace may cling to an item: sep is empty
        node.addprevious(etree.PI(target))
    nodes[-1].addnext(etree.PI(target))
