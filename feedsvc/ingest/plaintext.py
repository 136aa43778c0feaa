"""Plain-text fields (title, summary, author, photo caption, category name and description):
the text a reader would see if the value were read as HTML, on one line.

CMSs send these fields with markup (``AT&amp;T <b>đậm</b>``) that every feed would otherwise
carry as literal tags: RSS and JSON Feed hold them as text, Atom as ``type="text"``, and the W3C
validator warns (``ContainsHTML``). So markup is turned into text once, at ingest: tags dropped,
character references decoded, whitespace collapsed.

Text that only looks like markup must survive (``nhiệt độ < 5°C``, ``a <= b``, ``x<y``,
``AT&T``, ``<Mắt biếc>``). The tags are removed by html5ever (through nh3 with no element
allowed), a real HTML tokenizer; but where it would eat text a reader means, the ``<`` or ``&`` is
escaped before it sees them:

- a ``<`` is markup only when it opens a complete tag of an HTML element (or an XML-style
  ``o:p``, or a custom ``amp-img``), a terminated comment, a ``<!DOCTYPE …>``, a ``<?…>`` or a
  CDATA section (whose text is kept). HTML5 drops an unfinished tag at the end of the input
  (``x<y`` would become ``x``) and takes any ``<letter…>`` for a tag (``<Mắt biếc>``);
- character references are decoded here, not by the tokenizer: with a ``;`` always, without one
  only the legacy names (``&amp``, ``&copy``) and only before a non-alphanumeric character, as
  HTML5 does in attribute values, so ``AT&T`` and ``Q&notes`` stay as written.

The conversion repeats until nothing changes (at most :data:`MAX_PASSES` times), so text that a
CMS escaped twice (``&amp;lt;b&amp;gt;``) comes out as text too, and converting converted text
changes nothing: a record read back from the API and sent again is stored unchanged.
"""

from __future__ import annotations

import html
import re
import unicodedata
from html.entities import html5 as _NAMED_REFERENCES

import nh3

MAX_PASSES = 6  # each pass peels one level of escaping or nesting; real text needs at most 3

# Elements of HTML (WHATWG, with the obsolete ones CMSs still write), and the roots of SVG and
# MathML: a "<" opening one of these names is markup; any other name is text.
_ELEMENTS = frozenset(
    {"a", "abbr", "acronym", "address", "applet", "area", "article", "aside", "audio", "b"}
    | {"base", "basefont", "bdi", "bdo", "bgsound", "big", "blink", "blockquote", "body", "br"}
    | {"button", "canvas", "caption", "center", "cite", "code", "col", "colgroup", "data"}
    | {"datalist", "dd", "del", "details", "dfn", "dialog", "dir", "div", "dl", "dt", "em"}
    | {"embed", "fieldset", "figcaption", "figure", "font", "footer", "form", "frame"}
    | {"frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hgroup", "hr", "html"}
    | {"i", "iframe", "image", "img", "input", "ins", "isindex", "kbd", "keygen", "label"}
    | {"legend", "li", "link", "listing", "main", "map", "mark", "marquee", "math", "menu"}
    | {"menuitem", "meta", "meter", "multicol", "nav", "nobr", "noembed", "noframes"}
    | {"noscript", "object", "ol", "optgroup", "option", "output", "p", "param", "picture"}
    | {"plaintext", "pre", "progress", "q", "rb", "rp", "rt", "rtc", "ruby", "s", "samp"}
    | {"script", "search", "section", "select", "slot", "small", "source", "spacer", "span"}
    | {"strike", "strong", "style", "sub", "summary", "sup", "svg", "table", "tbody", "td"}
    | {"template", "textarea", "tfoot", "th", "thead", "time", "title", "tr", "track", "tt"}
    | {"u", "ul", "var", "video", "wbr", "xmp"}
    # Draft and proprietary names the W3C Feed Validator also takes for HTML in a text element.
    | {"command", "comment", "datagrid", "eventsource", "m"}
)
# Elements whose tags separate words: "Dòng 1<br>Dòng 2" reads as two words, not "1Dòng".
_SEPARATING = frozenset(
    {"address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog"}
    | {"div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2"}
    | {"h3", "h4", "h5", "h6", "header", "hgroup", "hr", "img", "li", "main", "nav", "ol"}
    | {"option", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th"}
    | {"thead", "title", "tr", "ul"}
)
# Removed with their content: code and styles are no text a reader sees.
_DROP_WITH_CONTENT = frozenset(
    {"script", "style", "template", "noscript", "iframe", "object", "svg", "math"}
    | {"noembed", "noframes", "head"}
)
# "o:p", "st1:place" (Word's markup pasted into a CMS), "v:shape".
_PREFIXED_NAME = re.compile(r"[a-z][a-z0-9]*:[a-z][a-z0-9_-]*")
# A custom element (HTML "valid custom element name", ASCII only): "amp-img", "my-player".
_CUSTOM_NAME = re.compile(r"[a-z][a-z0-9._]*-[a-z0-9._-]*")
# After "<" or "</": the tag name as the HTML tokenizer reads it (it ends at whitespace, "/", ">").
_NAME_MAX = 100
_TAG_NAME = re.compile(rf"/?([A-Za-z][^\t\n\f\r />]{{0,{_NAME_MAX}}})(?![^\t\n\f\r />])")
_COMMENT_END = re.compile(r"--!?>")
_DOCTYPE = re.compile(r"<!doctype", re.IGNORECASE)
# Character references: numeric (the ";" may be missing) or named.
_REFERENCE = re.compile(r"&(?:#[0-9]+;?|#[xX][0-9A-Fa-f]+;?|[A-Za-z][A-Za-z0-9]*;?)")
# Characters the records' filter removes (feedsvc.ingest.records.clean_text): a numeric reference
# to one of them ("&#1;", "&#x81;") decodes to nothing, like the character itself would.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x80-\x9f\ud800-\udfff\ufffe\uffff]")

_TOKENIZER = nh3.Cleaner(
    tags=set(),
    clean_content_tags=set(_DROP_WITH_CONTENT),
    attributes={},
    strip_comments=True,
    link_rel=None,
)


def plain_text(value: str) -> str:
    """``value`` read as HTML, as the text a reader sees: on one line, stripped, NFC."""
    text = value
    for _ in range(MAX_PASSES):
        converted = _one_pass(text)
        if converted == text:
            break
        text = converted
    return " ".join(text.split())


def _one_pass(text: str) -> str:
    """Markup removed and character references decoded, once."""
    if "<" in text:
        text = _drop_markup(text)
    if "&" in text:
        text = _REFERENCE.sub(_decode_reference, text)
    return unicodedata.normalize("NFC", text)


def _drop_markup(text: str) -> str:
    """``text`` without its tags, comments and declarations; other characters stay as they are."""
    escaped = _escape_text(text)
    # nh3 returns the text serialised as HTML: "&", "<", ">" and U+00A0 escaped, nothing else.
    return html.unescape(_TOKENIZER.clean(escaped))


def _escape_text(text: str) -> str:
    """``text`` with every "&", and every "<" that is no markup, escaped for the tokenizer."""
    return _Escaper(text.replace("&", "&amp;")).run()


class _Escaper:
    """One scan over the "<" of a text, deciding for each whether it opens markup.

    Linear in the text's length whatever it holds: a tag name is read to at most
    :data:`_NAME_MAX` characters, and a search for the end of a comment or CDATA section that
    failed once is not repeated further on (no end after one position means none after a later).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.last_gt = text.rfind(">")
        self.no_comment_end_from = len(text) + 1
        self.no_cdata_end_from = len(text) + 1

    def run(self) -> str:
        """The escaped text."""
        text = self.text
        pieces: list[str] = []
        start = 0
        position = text.find("<")
        # Past the last ">", no "<" can open markup: the rest is escaped in one go.
        while 0 <= position < self.last_gt:
            pieces.append(text[start:position])
            markup, start = self._markup_at(position)
            pieces.append(markup)
            position = text.find("<", start)
        pieces.append(text[start:].replace("<", "&lt;"))
        return "".join(pieces)

    def _markup_at(self, position: int) -> tuple[str, int]:
        """What the tokenizer gets for the "<" at ``position``, and where the scan resumes."""
        text = self.text
        after = position + 1
        following = text[after : after + 1]
        if following == "!":
            return self._declaration_at(position)
        if following == "?":
            return "<", after  # a processing instruction: a bogus comment to HTML, dropped
        name = _TAG_NAME.match(text, after)
        if name is not None and name.end() <= self.last_gt and _is_element(name[1]):
            # The tag ends at a later ">" (maybe inside a quoted value: then the tokenizer
            # drops the rest of the text, as a browser would; it is broken markup).
            space = " " if name[1].lower() in _SEPARATING else ""
            return space + "<", after
        return "&lt;", after

    def _declaration_at(self, position: int) -> tuple[str, int]:
        """A comment, a CDATA section or a DOCTYPE at ``position`` (which holds "<!")."""
        text = self.text
        if text.startswith("<!--", position):
            if text.startswith(("<!-->", "<!--->"), position):
                return "", text.index(">", position) + 1  # HTML's abruptly closed comment
            if position < self.no_comment_end_from:
                close = _COMMENT_END.search(text, position + 4)
                if close is not None:
                    return "", close.end()
                self.no_comment_end_from = position
        elif text.startswith("<![CDATA[", position):
            if position < self.no_cdata_end_from:
                end = text.find("]]>", position + 9)
                if end >= 0:
                    # HTML reads CDATA as a comment and drops it; the text inside is what was meant.
                    return text[position + 9 : end].replace("<", "&lt;"), end + 3
                self.no_cdata_end_from = position
        elif _DOCTYPE.match(text, position) and self.last_gt > position:
            return "", text.index(">", position) + 1
        return "&lt;", position + 1


def _is_element(name: str) -> bool:
    """Whether a tag name names an element (not a word that follows a "<" in prose)."""
    lowered = name.lower()
    return (
        lowered in _ELEMENTS
        or bool(_PREFIXED_NAME.fullmatch(lowered))
        or bool(_CUSTOM_NAME.fullmatch(lowered))
    )


def _decode_reference(match: re.Match[str]) -> str:
    """The character a reference stands for, or the reference itself when it is none."""
    reference = match[0]
    if reference[1] == "#":
        # HTML's rules: Windows-1252 for 128-159, U+FFFD for a surrogate or beyond U+10FFFF.
        decoded = html.unescape(reference if reference.endswith(";") else reference + ";")
        return "" if _FORBIDDEN.search(decoded) else decoded
    # The table's names without ";" are the legacy ones (&amp, &copy), which HTML decodes
    # without it; only whole here: the regex took every letter and digit that follows, so
    # "&copy2023" and "&notes" are no references.
    return _NAMED_REFERENCES.get(reference[1:], reference)
