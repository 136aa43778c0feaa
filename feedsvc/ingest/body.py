"""Real newspaper bodies made readable in a feed, before the allowlist of
:func:`feedsvc.ingest.records.sanitize_html` cleans them.

Vietnamese news CMSs send lazy-loaded images (the picture in ``data-src``, ``data-original``,
``data-lazy-src`` or ``data-srcset``, a 1×1 gif or a ``data:`` URL in ``src``), embedded videos
(YouTube, Facebook, TikTok, Vimeo iframes; their own ``<video>``) and other iframes. A feed
reader runs no script and shows no iframe, so the allowlist alone would leave an image without
a picture and a video story empty. Here each lazy image gets its real ``src`` (and ``srcset``),
and each embed becomes a link to what it showed: the video's own page for the known players,
with the embed's title when it has one (else "Xem video trên …"), the embed's address otherwise.

Bodies without any of this are returned as they are, untouched (most bodies: the check is a few
substring tests). Others are parsed with lxml (libxml2's HTML5 tokenizer), changed, and written
out again; the allowlist then cleans the result as it cleans every body, so nothing here has to
be safe on its own, only useful.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urljoin, urlsplit

import lxml.html
from lxml import etree

# Any of these in the lower-cased body means there may be work to do.
_HINTS = (
    "<iframe",
    "<video",
    "<embed",
    "<object",
    "<picture",
    "data-",
    "srcset",
    "tiktok-embed",
    "fb-video",
    "fb-post",
)
# Words in an image file name that mark a placeholder (spacer.gif, blank.png, lazy-load.svg)
# when the name holds nothing else but these fillers and sizes ("blank-page.jpg" is a picture).
_PLACEHOLDER_WORDS = frozenset(
    {"blank", "placeholder", "lazy", "lazyload", "spacer", "pixel", "transparent", "1x1"}
    | {"loading", "loader"}
)
_PLACEHOLDER_FILLERS = frozenset(
    {"img", "image", "default", "icon", "bg", "empty", "grey", "gray", "white", "load", "small"}
)
_SIZE_WORD = re.compile(r"[0-9]+(?:x[0-9]+)?")
_PLACEHOLDER_HINT = re.compile("|".join(sorted(_PLACEHOLDER_WORDS)) + r"|data:|width=.?[01]\b")
# Where lazy-loading scripts keep the real picture, in the order they are looked at.
_LAZY_SRC = (
    "data-src",
    "data-original",
    "data-lazy-src",
    "data-lazy",
    "data-original-src",
    "data-actualsrc",
    "data-hi-res-src",
    "data-url",
)
_LAZY_SRCSET = ("data-srcset", "data-lazy-srcset", "data-original-srcset")
_LAZY_EMBED_SRC = ("data-src", "data-lazy-src", "data-original", "data-url")
_WORD = re.compile(r"[a-z0-9]+")
# Embed titles that name the player, not the video ("YouTube video player" is YouTube's default).
_GENERIC_TITLES = frozenset(
    {"youtube video player", "youtube", "video", "vimeo", "vimeo video player", "facebook"}
    | {"facebook video", "tiktok", "embedded content", "embed", "iframe", "video player"}
)
_VIDEO_LABEL = "Xem video"
_YOUTUBE_HOSTS = frozenset(
    {"youtube.com", "www.youtube.com", "m.youtube.com", "youtube-nocookie.com"}
    | {"www.youtube-nocookie.com", "youtu.be", "www.youtu.be"}
)
_YOUTUBE_PATH = re.compile(r"/(?:embed|v|shorts|live|e)/([A-Za-z0-9_-]+)")
_VIMEO_PATH = re.compile(r"/(?:video/)?([0-9]+)(?:/([0-9a-f]+))?")
_TIKTOK_PATH = re.compile(r"/(?:embed(?:/v2)?|player/v1|@[^/]*/video)/([0-9]+)")
_SECONDS = re.compile(r"[0-9]+")
_VOID_UNKNOWN_TO_LIBXML2 = ("embed", "source", "track", "wbr", "keygen", "bgsound", "image")
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def prepare_body(body: str, base_url: str) -> str:
    """``body`` with lazy images resolved and embeds replaced by links (``body`` if none)."""
    lowered = body.lower()
    if not any(hint in lowered for hint in _HINTS) and not (
        "<img" in lowered and _PLACEHOLDER_HINT.search(lowered)
    ):
        return body
    root = _parse(body)
    if root is None:
        return body
    changed = _resolve_images(root, base_url)
    changed = _replace_embeds(root, base_url) or changed
    return _inner_html(root) if changed else body


def _parse(body: str) -> lxml.html.HtmlElement | None:
    """The body as children of a ``<div>``; None when libxml2 could not read all of it."""
    # A parser per call: lxml parsers keep state (their error log) and ingest runs in threads.
    parser = lxml.html.HTMLParser(encoding="utf-8", no_network=True, huge_tree=True)
    try:
        root = lxml.html.fragment_fromstring(
            body.encode("utf-8"), create_parent="div", parser=parser
        )
    except (etree.ParserError, ValueError):  # UnicodeError is a ValueError
        return None
    # libxml2 stops at a fatal error (nesting deeper than it allows) and returns what it read:
    # then the body is left to the allowlist as it is rather than cut short.
    if any(error.level_name == "FATAL" for error in parser.error_log):
        return None
    _empty_void_elements(root)
    return root


def _empty_void_elements(root: lxml.html.HtmlElement) -> None:
    """Move out what libxml2 put inside void elements it does not know as void.

    libxml2 builds ``<embed src=x><p>ok</p>`` as an ``embed`` holding the paragraph (and a
    ``<source>`` holding the ``<img>`` after it); in HTML these elements never hold anything,
    so their text and children belong after them. ``<image>`` is HTML's old name of ``<img>``.
    """
    for element in list(root.iter(*_VOID_UNKNOWN_TO_LIBXML2)):
        if element.tag == "image":
            element.tag = "img"
        parent = element.getparent()
        if parent is None or (element.text is None and len(element) == 0):
            continue
        children = list(element)
        tail, text = element.tail, element.text
        element.text = None
        position = parent.index(element)
        for offset, child in enumerate(children, start=1):
            parent.insert(position + offset, child)
        if children:
            element.tail = text
            children[-1].tail = (children[-1].tail or "") + (tail or "")
        else:
            element.tail = (text or "") + (tail or "")


def _inner_html(root: lxml.html.HtmlElement) -> str:
    """The markup inside ``root``."""
    text = html.escape(root.text or "", quote=False)
    return text + "".join(lxml.html.tostring(child, encoding="unicode") for child in root)


# --- images ---------------------------------------------------------------------------------


def _resolve_images(root: lxml.html.HtmlElement, base_url: str) -> bool:
    """Give every image its real picture; remove those that have none. Whether any changed."""
    changed = False
    for img in list(root.iter("img")):
        changed = _resolve_image(img, base_url) or changed
    return changed


def _resolve_image(img: lxml.html.HtmlElement, base_url: str) -> bool:
    """One image: the lazy source wins over ``src``; a placeholder gives way to the srcset."""
    before = dict(img.attrib)
    srcset = _srcset_of(img, base_url)
    src = _first_web_url(img, _LAZY_SRC, base_url)
    if src is None:
        current = web_url(img.get("src"), base_url)
        src = None if current is None or _is_placeholder(current, img) else current
    if src is None:
        src = _largest(srcset) or _picture_source(img, base_url)
    if src is None:
        _remove(img)  # a spacer, or a picture only a script could find: nothing to show
        return True
    if src != web_url(img.get("src"), base_url) and _is_placeholder_size(img):
        # The 1×1 size was the placeholder's, not the picture's.
        for attribute in ("width", "height"):
            img.attrib.pop(attribute, None)
    img.set("src", src)
    if srcset:
        img.set("srcset", format_srcset(srcset))
    else:
        img.attrib.pop("srcset", None)
    for attribute in (*_LAZY_SRC, *_LAZY_SRCSET):
        img.attrib.pop(attribute, None)
    return dict(img.attrib) != before


def _srcset_of(img: lxml.html.HtmlElement, base_url: str) -> list[tuple[str, str]]:
    """The image's candidates (lazy ones first), absolute http(s) URLs only."""
    for attribute in (*_LAZY_SRCSET, "srcset"):
        value = img.get(attribute)
        if value:
            return _absolute_candidates(value, base_url)
    return []


def _picture_source(img: lxml.html.HtmlElement, base_url: str) -> str | None:
    """For an image in a ``<picture>``, the first picture its ``<source>`` elements offer."""
    parent = img.getparent()
    if parent is None or parent.tag != "picture":
        return None
    for source in parent.iter("source"):
        for attribute in (*_LAZY_SRCSET, "srcset", *_LAZY_SRC, "src"):
            value = source.get(attribute)
            if value:
                candidates = _absolute_candidates(value, base_url)
                if candidates:
                    return _largest(candidates)
    return None


def _is_placeholder(url: str, img: lxml.html.HtmlElement) -> bool:
    """Whether ``src`` holds a stand-in: a 1×1 image, or a file named like one."""
    if _is_placeholder_size(img):
        return True
    name = urlsplit(url).path.rsplit("/", 1)[-1].lower()
    words = _WORD.findall(name.rsplit(".", 1)[0])
    return bool(_PLACEHOLDER_WORDS.intersection(words)) and all(
        word in _PLACEHOLDER_WORDS or word in _PLACEHOLDER_FILLERS or _SIZE_WORD.fullmatch(word)
        for word in words
    )


def _is_placeholder_size(img: lxml.html.HtmlElement) -> bool:
    return img.get("width", "").strip() in ("0", "1") and img.get("height", "").strip() in (
        "0",
        "1",
    )


def parse_srcset(value: str) -> list[tuple[str, str]]:
    """``srcset`` as (URL, descriptor) pairs, per the HTML standard's parsing rules."""
    candidates = []
    position, length = 0, len(value)
    while position < length:
        while position < length and (value[position].isspace() or value[position] == ","):
            position += 1
        start = position
        while position < length and not value[position].isspace():
            position += 1
        url = value[start:position]
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            end = value.find(",", position)
            end = length if end < 0 else end
            descriptor = " ".join(value[position:end].split())
            position = end
        if url:
            candidates.append((url, descriptor))
    return candidates


def format_srcset(candidates: list[tuple[str, str]]) -> str:
    """(URL, descriptor) pairs written back as a ``srcset`` value."""
    return ", ".join(f"{url} {descriptor}" if descriptor else url for url, descriptor in candidates)


def _absolute_candidates(value: str, base_url: str) -> list[tuple[str, str]]:
    """The candidates of a ``srcset`` resolved against ``base_url``; others are left out."""
    resolved = ((web_url(url, base_url), descriptor) for url, descriptor in parse_srcset(value))
    return [(url, descriptor) for url, descriptor in resolved if url is not None]


def _largest(candidates: list[tuple[str, str]]) -> str | None:
    """The widest candidate (by its ``w`` or ``x`` descriptor), else the first."""
    if not candidates:
        return None

    def size(candidate: tuple[str, str]) -> float:
        descriptor = candidate[1]
        try:
            return float(descriptor[:-1]) if descriptor[-1:] in ("w", "x") else 0.0
        except ValueError:
            return 0.0

    return max(candidates, key=size)[0]


# --- embeds ---------------------------------------------------------------------------------


def _replace_embeds(root: lxml.html.HtmlElement, base_url: str) -> bool:
    """Replace every embed that has an address with a link to it. Whether any was replaced."""
    changed = False
    for element in list(root.iter("iframe", "embed", "object", "video", "blockquote", "div")):
        link = _link_for(element, base_url)
        if link is not None:
            _replace(element, *link)
            changed = True
    return changed


def _link_for(element: lxml.html.HtmlElement, base_url: str) -> tuple[str, str, str | None] | None:
    """(href, label, poster) of the link an embed becomes; None for anything else."""
    tag = element.tag
    if tag == "video":
        return _video_link(element, base_url)
    if tag in ("iframe", "embed", "object"):
        attributes = ("src", *_LAZY_EMBED_SRC) if tag != "object" else ("data", "src")
        address = _first_web_url(element, attributes, base_url)
        if address is None:
            return None
        known = video_page(address)
        title = _title_of(element)
        if known is not None:
            return known[0], title or f"{_VIDEO_LABEL} trên {known[1]}", None
        if tag != "iframe":
            return None  # a plug-in's object (Flash): nothing a reader could open
        return address, title or address, None
    classes = set((element.get("class") or "").split())
    if tag == "blockquote" and "tiktok-embed" in classes:
        address = _first_web_url(element, ("cite",), base_url)
        return None if address is None else (address, f"{_VIDEO_LABEL} trên TikTok", None)
    if tag == "div" and classes & {"fb-video", "fb-post"}:
        address = _first_web_url(element, ("data-href",), base_url)
        label = f"{_VIDEO_LABEL} trên Facebook" if "fb-video" in classes else "Xem trên Facebook"
        return None if address is None else (address, label, None)
    return None


def _video_link(video: lxml.html.HtmlElement, base_url: str) -> tuple[str, str, str | None] | None:
    """The CMS's own ``<video>``: its first playable source, its title, its poster."""
    address = _first_web_url(video, ("src", "data-src"), base_url)
    if address is None:
        for source in video.iter("source"):
            address = _first_web_url(source, ("src", "data-src"), base_url)
            if address is not None:
                break
    if address is None:
        return None
    poster = _first_web_url(video, ("poster", "data-poster"), base_url)
    return address, _title_of(video) or _VIDEO_LABEL, poster


def _title_of(element: lxml.html.HtmlElement) -> str | None:
    """The embed's own title, unless it only names the player."""
    for attribute in ("title", "aria-label", "data-title"):
        title = " ".join((element.get(attribute) or "").split())
        if title and title.lower() not in _GENERIC_TITLES:
            return title
    return None


def video_page(address: str) -> tuple[str, str] | None:
    """(the video's own page, the platform's name) for a known player's address."""
    parts = urlsplit(address)
    host = (parts.hostname or "").lower()
    query = parse_qs(parts.query)
    if host in _YOUTUBE_HOSTS:
        return _youtube_page(host, parts.path, query)
    if host in ("player.vimeo.com", "vimeo.com", "www.vimeo.com"):
        match = _VIMEO_PATH.fullmatch(parts.path.rstrip("/"))
        if match is None:
            return None
        secret = match[2] or (query.get("h") or [""])[0]
        return f"https://vimeo.com/{match[1]}" + (f"/{secret}" if secret else ""), "Vimeo"
    if host.endswith(("facebook.com", "fb.watch")):
        return _facebook_page(host, parts.path, query, address), "Facebook"
    if host.endswith("tiktok.com"):
        match = _TIKTOK_PATH.match(parts.path)
        page = f"https://www.tiktok.com/embed/v2/{match[1]}" if match else address
        return page, "TikTok"
    return None


def _youtube_page(host: str, path: str, query: dict[str, list[str]]) -> tuple[str, str] | None:
    """The watch page of a YouTube embed (or its playlist's page)."""
    if path.startswith("/embed/videoseries") and query.get("list"):
        return f"https://www.youtube.com/playlist?list={query['list'][0]}", "YouTube"
    match = _YOUTUBE_PATH.match(path)
    if host.endswith("youtu.be"):
        video = path.strip("/").split("/")[0]
    elif match is not None:
        video = match[1]
    else:
        video = (query.get("v") or [""])[0]
    if not re.fullmatch(r"[A-Za-z0-9_-]+", video):
        return None
    page = f"https://www.youtube.com/watch?v={video}"
    start = _SECONDS.match((query.get("start") or query.get("t") or [""])[0])
    if start is not None and start[0] != "0":
        page += f"&t={start[0]}s"
    return page, "YouTube"


def _facebook_page(host: str, path: str, query: dict[str, list[str]], address: str) -> str:
    """The post or video a Facebook plugin shows (its ``href``), else the address itself."""
    if path.startswith("/plugins/"):
        target = web_url((query.get("href") or [""])[0], address)
        if target is not None and (urlsplit(target).hostname or "").endswith(
            ("facebook.com", "fb.watch")
        ):
            return target
    if path.startswith("/video/embed") and query.get("video_id"):
        return f"https://www.facebook.com/watch/?v={query['video_id'][0]}"
    return address


def _replace(element: lxml.html.HtmlElement, href: str, label: str, poster: str | None) -> None:
    """Put a link where ``element`` was (in a paragraph of its own at the top level)."""
    link = lxml.html.Element("a", href=href)
    if poster is not None:
        etree.SubElement(link, "img", src=poster, alt="")
        etree.SubElement(link, "br").tail = label
    else:
        link.text = label
    parent = element.getparent()
    if parent is None:
        return
    replacement = link
    if parent.getparent() is None:  # directly in the body, where text needs a block
        replacement = lxml.html.Element("p")
        replacement.append(link)
    replacement.tail = element.tail
    parent.replace(element, replacement)


def _remove(element: lxml.html.HtmlElement) -> None:
    """Remove ``element`` and what it holds, keeping the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(element)


# --- URLs -----------------------------------------------------------------------------------


def _first_web_url(
    element: lxml.html.HtmlElement, attributes: tuple[str, ...], base_url: str
) -> str | None:
    """The first of ``attributes`` that holds an http(s) URL (made absolute)."""
    for attribute in attributes:
        url = web_url(element.get(attribute), base_url)
        if url is not None:
            return url
    return None


def web_url(value: str | None, base_url: str) -> str | None:
    """``value`` resolved against ``base_url`` when that gives an http(s) URL with a host."""
    if not value:
        return None
    # As a browser reads a URL: surrounding spaces ignored, tabs and newlines removed, a space
    # inside percent-encoded; other controls make it no URL.
    value = _TAB_OR_NEWLINE.sub("", value.strip(" \t\n\r\f")).replace(" ", "%20")
    if not value or _CONTROL.search(value):
        return None
    try:
        url = urljoin(base_url, value)
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.hostname else None
