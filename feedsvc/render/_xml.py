"""XML helpers of the RSS and Atom renderers: namespaces, the feed's frame, item elements.

feedgen builds the channel (feed-level elements); its bytes are parsed back (our own output, so
a plain parser is safe), the elements feedgen cannot write correctly are added with lxml, and the
result is cut into head and tail (:func:`frame`). Items are written directly as text by
:class:`Markup`, escaped exactly as lxml (libxml2) escapes text and attribute values, so an item
is written once and never parsed back (tests/unit/render/test_xml.py holds them to lxml's bytes).
"""

from __future__ import annotations

import hashlib

from feedgen.ext.base import BaseExtension
from lxml import etree

from feedsvc.render._common import Parts, image_type
from feedsvc.render.feed import Image

ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"
MEDIA_NS = "http://search.yahoo.com/mrss/"
SY_NS = "http://purl.org/rss/1.0/modules/syndication/"

# Our own output, possibly with 500 kB bodies: no entities, no network, no size cap.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def namespace_extension(prefixes: dict[str, str]) -> type[BaseExtension]:
    """A feedgen extension that only declares ``prefixes`` on the root element.

    Declared once on the root, items need no declarations of their own, so each item's bytes
    are valid inside any head.
    """

    class _Namespaces(BaseExtension):  # type: ignore[misc]  # feedgen ships no type hints
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


class Markup:
    """Writes elements as text, escaping values exactly as lxml (libxml2) does, except that
    ``&`` and ``<`` are written as the references ``amp`` and ``lt`` (lxml's own are
    ``&amp;`` and ``&lt;``)."""

    def __init__(self, amp: str, lt: str) -> None:
        self.amp = amp
        self.lt = lt

    def text(self, value: str) -> str:
        """``value`` as XML character data (XML 1.0 §2.4)."""
        # "&" and "<" must be escaped; ">" is, so "]]>" never appears; a CR is written as a
        # reference so that end-of-line handling (§2.11) gives it back. Each replace only when
        # needed: most values have none of these, and a test is cheaper than a replace call.
        if "&" in value:
            value = value.replace("&", self.amp)
        if "<" in value:
            value = value.replace("<", self.lt)
        if ">" in value:
            value = value.replace(">", "&gt;")
        if "\r" in value:
            value = value.replace("\r", "&#13;")
        return value

    def attribute(self, value: str) -> str:
        """``value`` inside a double-quoted attribute."""
        # Tab, LF and CR as references: attribute-value normalisation (XML 1.0 §3.3.3) would
        # turn them into spaces.
        value = self.text(value)
        if '"' in value:
            value = value.replace('"', "&quot;")
        if "\n" in value:
            value = value.replace("\n", "&#10;")
        if "\t" in value:
            value = value.replace("\t", "&#9;")
        return value

    def element(self, tag: str, content: str | None = None, /, **attrib: str) -> str:
        """``<tag a="v">content</tag>``, or ``<tag a="v"/>`` when ``content`` is None.

        ``content`` is text (escaped), never markup; the caller has cleaned every string
        (:func:`feedsvc.render._common.clean_item`), so no character XML forbids reaches here.
        """
        if attrib:
            start = self._start(tag, attrib)
        else:
            start = "<" + tag  # most elements: no call, no pairs to join
        if content is None:
            return start + "/>"
        return f"{start}>{self.text(content)}</{tag}>"

    def wrap(self, tag: str, children: str, /, **attrib: str) -> str:
        """``<tag a="v">children</tag>`` around markup written with :meth:`element`."""
        start = self._start(tag, attrib)
        return f"{start}>{children}</{tag}>" if children else start + "/>"

    def media(self, image: Image) -> str:
        """Media RSS elements of the lead photo, directly in the item (never in media:group).

        The caption is media:title inside media:content (Media RSS 1.5.1 "Optional Elements"
        may sit there). Not media:description: feedparser maps it onto the item's own
        description, replacing the summary or its type. The feed's root declares ``media``.
        """
        attrib = {"url": image.url, "medium": "image"}
        kind = image_type(image)
        if kind:
            attrib["type"] = kind
        if image.length:
            attrib["fileSize"] = str(image.length)
        title = self.element("media:title", image.caption, type="plain") if image.caption else ""
        return self.wrap("media:content", title, **attrib) + self.element(
            "media:thumbnail", url=image.url
        )

    def _start(self, tag: str, attrib: dict[str, str]) -> str:
        """``<tag a="v"`` (not closed)."""
        if not attrib:
            return "<" + tag
        pairs = [f' {name}="{self.attribute(value)}"' for name, value in attrib.items()]
        return "<" + tag + "".join(pairs)


# lxml's escaping, for Atom.
XML = Markup("&amp;", "&lt;")
# RSS Best Practices Profile, "Encoding": RSS readers disagree whether a title is text or HTML,
# so the profile asks publishers to write "&" and "<" in plain text as the hexadecimal references
# &#x26; and &#x3C;, which tells them apart from markup.
RSS = Markup("&#x26;", "&#x3C;")


def frame(root: etree._Element, parent: etree._Element) -> Parts:
    """Serialise ``root`` (a feed without items) and cut it where its items go: after the last
    child of ``parent``. Returns head and tail, with no items.

    The cut is marked with a processing instruction: lxml escapes every ``<`` in text and
    attributes and we write no CDATA, so ``<?`` can only come from a real PI. Its nonce, a hash
    of the document without it, is deterministic; the marker count is checked all the same.
    """
    nonce = hashlib.sha256(etree.tostring(root)).hexdigest()[:16]
    target = f"feedsvc-cut-{nonce}"
    parent.append(etree.PI(target))
    document = etree.tostring(root, encoding="UTF-8", xml_declaration=True)
    pieces = document.split(etree.tostring(etree.PI(target)))  # lxml writes "<?target ?>"
    if len(pieces) != 2:
        raise RuntimeError(
            f"render: found {len(pieces) - 1} cut markers, expected 1; the feed cannot be cut "
            "into head and tail safely (a bug in feedsvc.render._xml, please report it)"
        )
    return Parts(head=pieces[0], items=(), tail=pieces[1], sep=b"")


def rss_profile_bytes(data: bytes) -> bytes:
    """Write ``&`` and ``<`` as ``&#x26;`` and ``&#x3C;`` (RSS Best Practices Profile, "Encoding").

    RSS readers disagree whether a title is text or HTML; the profile asks publishers to escape
    these two characters in plain text with hexadecimal references, which tells them apart from
    markup. lxml writes ``&amp;``/``&lt;`` only as escapes inside text and attribute values (we
    write no CDATA or comments), so swapping them for the equivalent references is exact.
    """
    return data.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")


def rss_profile_refs(parts: Parts) -> Parts:
    """:func:`rss_profile_bytes` applied to every piece of ``parts``."""
    return Parts(
        head=rss_profile_bytes(parts.head),
        items=tuple(rss_profile_bytes(i) for i in parts.items),
        tail=rss_profile_bytes(parts.tail),
        sep=parts.sep,
    )
