"""Validate and normalise incoming category and article records (docs/interface.md, "Records").

The CLI importer and the ingest API both call parse_category / parse_article, so a record is
accepted or rejected, and normalised, in exactly one way. Every broken rule becomes a FieldError
naming the field's path; nothing but RecordError ever escapes, whatever the input.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import nh3

from feedsvc.ingest.body import format_srcset, parse_srcset, prepare_body
from feedsvc.ingest.plaintext import plain_text
from feedsvc.textfilter import CharFilter

# XML 1.0 §2.2 Char excludes C0 controls but tab/LF/CR, lone surrogates and U+FFFE/U+FFFF;
# the interface also removes the C1 controls U+0080–U+009F (DEL is allowed here).
_FORBIDDEN = CharFilter(
    "\x00-\x08\x0b\x0c\x0e-\x1f\x80-\x9f\ud800-\udfff\ufffe\uffff",
    bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]),
)
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SLUG_MAX = 64
# An article is in a handful of sections. The bound keeps one record's work and its list of
# errors small: 8 MiB of ["X", …] was 1.7 million FieldErrors, 21 s and 1 GB before it.
_CATEGORIES_MAX = 100
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
# RFC 6838 §4.2 restricted-name for the subtype; parameters (";…") are not allowed.
_IMAGE_MIME = re.compile(r"image/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
_MAX_LENGTH = 2**63 - 1  # a signed 64-bit column holds it
# ISO 8601 extended format / RFC 3339 §5.6 (which allows a space for "T"); seconds optional.
_DATE_TIME = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt ]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:[.,](?P<frac>[0-9]+))?)?"
    r"(?P<offset>[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_DATE_TIME_HINT = "an ISO 8601 date-time like '2023-02-03T15:30:00+07:00'"
_SLUG_RULE = "lowercase letters and digits, words joined by single hyphens, like 'quoc-phong'"
_ID_RULE = "1-200 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit"
_URL_RULE = "an absolute http or https URL"
_UNSAFE_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")
# URLs every check of _is_web_url accepts, told by one regex: http(s); a host of ASCII letters,
# digits and single inner hyphens (so no "xn--" label IDNA might refuse), whose last
# label starts with a letter (never read as an IPv4 address by the WHATWG parser); no user info;
# a port of at most four digits. Past the host the WHATWG parser cannot fail for http(s) (its
# path, query and fragment states have no failure), nor can urlsplit. Everything else gets the
# full check. ASCII classes only: [a-z] with IGNORECASE would also match the Kelvin sign.
# Runs of letters and digits joined by single hyphens: linear to match, whatever the input.
_LABEL = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
_PLAIN_WEB_URL = re.compile(
    r"[Hh][Tt][Tt][Pp][Ss]?://"
    rf"(?:{_LABEL}\.)*[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*"
    r"(?::[0-9]{1,4})?(?:[/?#].*)?",
    re.DOTALL,
)

# Elements and attributes feed readers and the W3C Feed Validation Service accept. <span> is
# left out (without attributes it means nothing; its text stays); <div> keeps blocks apart.
_HTML_TAGS = frozenset(
    {"p", "br", "hr", "div", "a", "img", "figure", "figcaption", "blockquote", "q", "cite"}
    | {"ul", "ol", "li", "dl", "dt", "dd", "h2", "h3", "h4", "h5", "h6", "pre", "code"}
    | {"strong", "em", "b", "i", "u", "s", "sub", "sup", "small", "mark", "abbr", "time"}
    | {"table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td"}
)
_HTML_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "srcset", "alt", "title", "width", "height"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
    "abbr": {"title"},
    "time": {"datetime"},
}
# Removed with everything inside: active content, and raw-text elements whose content would
# otherwise come out as escaped markup ("&lt;img …&gt;").
_HTML_DROP_WITH_CONTENT = frozenset(
    {"script", "style", "template", "noscript", "noembed", "noframes", "xmp", "plaintext"}
    | {"iframe", "object", "embed", "svg", "math", "form", "textarea", "select", "button", "title"}
)
_HTML_URL_SCHEMES = frozenset({"http", "https", "mailto"})
# nh3's HTML parser (html5ever) walks its stack of open elements for many tags, so a body costs
# up to its tags times its nesting depth: 500 KB of nested <div> took 43 s (servo/html5ever#788).
# Both are bounded from above before parsing, counting every "<" that can open or close a tag:
# the tags, and the start tags that can deepen the stack. Not among the latter: void elements
# (never left open), and p, li, td, th, tr and option, each of which closes its like and nests
# in one only inside an element that is counted (HTML §13.2.6.4.7); in SVG and MathML every
# start tag counts. A body is refused when (deepening + 1) * tags exceeds 250,000 or, if more,
# 100 times its length: articles pass by far (1 MB of paragraphs, or a 100 kB article with a
# few hundred links, figures and emphases), and no body costs more than about a microsecond a
# character. ASCII case-insensitive, as the parser is: "<lınk>" (dotless i) is no <link>.
_HTML_TAG = re.compile(r"</?[A-Za-z]")
_HTML_START_TAG = re.compile(r"<[A-Za-z]")
_HTML_DEEPENING_TAG = re.compile(
    r"<(?!(?:p|li|td|th|tr|option|area|base|br|col|embed|hr|img|input|link|meta|source|track"
    r"|wbr)[\t\n\f\r />])[a-z]",
    re.ASCII | re.IGNORECASE,
)
_HTML_FOREIGN = re.compile(r"<(?:svg|math)[\t\n\f\r />]", re.ASCII | re.IGNORECASE)
_HTML_BUDGET = 250_000
_HTML_BUDGET_PER_CHAR = 100


@dataclass(frozen=True, slots=True)
class FieldError:
    """One broken rule; field is a path like "categories[0]" or "image.url", "" for the record."""

    field: str
    message: str

    def to_json(self) -> dict[str, str]:
        """The error as the API's {"field", "message"} detail."""
        return {"field": self.field, "message": self.message}


class RecordError(ValueError):
    """A record broke one or more rules; .errors lists every one of them."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__(
            "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in errors)
        )

    def __reduce__(self) -> tuple[type, tuple[list[FieldError]]]:
        return (type(self), (self.errors,))


@dataclass(frozen=True, slots=True)
class CategoryRecord:
    """A validated, normalised category."""

    slug: str
    name: str
    description: str | None

    def to_json(self) -> dict[str, Any]:
        """The category as accepted, without keys whose value is None."""
        return _without_none(
            {"slug": self.slug, "name": self.name, "description": self.description}
        )


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """The lead photo of an article (never fetched)."""

    url: str
    caption: str | None
    mime_type: str | None
    length: int | None

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        # The importer's workers send records back pickled: a plain constructor call unpickles
        # in half the time of the slotted-dataclass default (a Python loop over fields()).
        return (type(self), (self.url, self.caption, self.mime_type, self.length))

    def to_json(self) -> dict[str, Any]:
        """The image as accepted, without keys whose value is None."""
        return _without_none(
            {
                "url": self.url,
                "caption": self.caption,
                "mime_type": self.mime_type,
                "length": self.length,
            }
        )


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """A validated, normalised article; times are aware and in UTC."""

    id: str
    url: str
    title: str
    summary: str | None
    content_html: str | None
    author: str | None
    categories: tuple[str, ...]
    image: ImageRecord | None
    published_at: datetime
    updated_at: datetime | None

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        # As ImageRecord's: the importer's writer unpickles thousands a second.
        fields = (self.id, self.url, self.title, self.summary, self.content_html, self.author)
        return (
            type(self),
            (*fields, self.categories, self.image, self.published_at, self.updated_at),
        )

    def to_json(self) -> dict[str, Any]:
        """The article as accepted, JSON-ready: UTC times with "Z", no keys whose value is None."""
        return _without_none(
            {
                "id": self.id,
                "url": self.url,
                "title": self.title,
                "summary": self.summary,
                "content_html": self.content_html,
                "author": self.author,
                "categories": list(self.categories),
                "image": self.image.to_json() if self.image else None,
                "published_at": _format_utc(self.published_at),
                "updated_at": _format_utc(self.updated_at) if self.updated_at else None,
            }
        )


class _Errors:
    """Collects FieldErrors so one rejection lists every bad field."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(FieldError(field, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise RecordError(self.items)


def clean_text(value: str) -> str:
    """NFC-normalise and drop characters XML 1.0 forbids and C1 controls."""
    return _FORBIDDEN.clean(value)


def sanitize_html(html: str, base_url: str) -> str:
    """Reduce HTML to the feed-safe allowlist, resolving relative links against base_url."""
    if not _is_web_url(base_url):
        raise ValueError(f"base_url must be {_URL_RULE}, got {_show(base_url)}")
    return _sanitize(html, base_url)


def _sanitize(html: str, base_url: str) -> str:
    """:func:`sanitize_html` with a base URL already checked."""
    # Lazy images and embeds first (feedsvc.ingest.body), then the allowlist over the result.
    text = prepare_body(clean_text(html), base_url)
    lowered = text.lower()
    if "href" in lowered or "src" in lowered:
        cleaner = nh3.Cleaner(**_CLEANER_OPTIONS, url_relative=("rewrite_with_base", base_url))
    else:
        cleaner = _NO_URL_CLEANER
    # Character references such as "&#x1;" decode to forbidden characters inside the parser.
    return clean_text(cleaner.clean(text)).strip()


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    """Drop mailto: image sources (a fine link target, never a picture); check srcset URLs."""
    if element == "img" and attribute == "src":
        # WHATWG URL parsing ignores tab/newline anywhere and leading C0 controls and spaces.
        compact = _TAB_OR_NEWLINE.sub("", value).lstrip("\x00- ").lower()
        if compact.startswith("mailto:"):
            return None
    if attribute == "srcset":
        return _web_srcset(value)
    return value


def _web_srcset(value: str) -> str | None:
    """A ``srcset`` with only its absolute http(s) candidates (the allowlist checks no srcset)."""
    candidates = [(url, size) for url, size in parse_srcset(value) if _is_web_url(url)]
    return format_srcset(candidates) if candidates else None


_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_CLEANER_OPTIONS: dict[str, Any] = {
    "tags": _HTML_TAGS,
    "clean_content_tags": _HTML_DROP_WITH_CONTENT,
    "attributes": {tag: frozenset(names) for tag, names in _HTML_ATTRIBUTES.items()},
    "attribute_filter": _filter_attribute,
    "strip_comments": True,
    "link_rel": "noopener noreferrer",
    "url_schemes": _HTML_URL_SCHEMES,
}
# Built once for bodies without an href or src (most bodies: no link, no picture), where the
# base URL, the only option that changes per article, has nothing to resolve; building the
# allowlist into a cleaner costs about as much as cleaning a 2 kB body.
_NO_URL_CLEANER = nh3.Cleaner(**_CLEANER_OPTIONS)


def parse_category(raw: object) -> CategoryRecord:
    """Validate and normalise one category record; RecordError lists every bad field."""
    if not isinstance(raw, dict):
        shape = '{"slug": …, "name": …}'
        message = f"a category must be a JSON object like {shape}, got {_json_type(raw)}"
        raise RecordError([FieldError("", message)])
    errors = _Errors()
    slug = _slug(raw.get("slug"), "slug", errors)
    name = _one_line(
        raw.get("name"), "name", errors, required="the category's name as a non-blank string"
    )
    description = _block(raw.get("description"), "description", errors)
    errors.raise_if_any()
    assert slug is not None and name is not None  # raise_if_any guarantees it
    return CategoryRecord(slug=slug, name=name, description=description)


def parse_article(raw: object, tz: ZoneInfo) -> ArticleRecord:
    """Validate and normalise one article record; offset-less times are read in tz."""
    if not isinstance(raw, dict):
        shape = 'with "id", "url", "title", "categories" and "published_at"'
        message = f"an article must be a JSON object {shape}, got {_json_type(raw)}"
        raise RecordError([FieldError("", message)])
    errors = _Errors()
    article_id = _article_id(raw.get("id"), errors)
    url = _url(raw.get("url"), "url", errors, required=f"{_URL_RULE} of the article page")
    title = _one_line(
        raw.get("title"), "title", errors, required="the headline as a non-blank string"
    )
    summary = _block(raw.get("summary"), "summary", errors)
    content = _html(raw.get("content_html"), errors)
    author = _one_line(raw.get("author"), "author", errors)
    categories = _categories(raw.get("categories"), errors)
    image = _image(raw.get("image"), errors)
    published_at = _timestamp(raw.get("published_at"), "published_at", tz, errors, required=True)
    updated_at = _timestamp(raw.get("updated_at"), "updated_at", tz, errors, required=False)
    errors.raise_if_any()
    assert article_id and url and title and published_at  # raise_if_any guarantees it
    return ArticleRecord(
        id=article_id,
        url=url,
        title=title,
        summary=summary,
        content_html=(_sanitize(content, url) or None) if content else None,
        author=author,
        categories=categories,
        image=image,
        published_at=published_at,
        updated_at=updated_at,
    )


def _string(value: object, path: str, errors: _Errors) -> str | None:
    """A cleaned string, None when absent (null counts as absent); records a type error."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(path, f"must be a string, got {_json_type(value)}")
        return None
    return clean_text(value)


def _html(value: object, errors: _Errors) -> str | None:
    """content_html before sanitising, if its tags are within what parsing it may cost."""
    text = _string(value, "content_html", errors)
    if text is None:
        return None
    tags = len(_HTML_TAG.findall(text))
    if (tags + 1) * tags <= _HTML_BUDGET:
        return text  # every article: no need to tell the tags apart
    nesting = _HTML_START_TAG if _HTML_FOREIGN.search(text) else _HTML_DEEPENING_TAG
    deepening = len(nesting.findall(text))
    if (deepening + 1) * tags > max(_HTML_BUDGET, _HTML_BUDGET_PER_CHAR * len(text)):
        errors.add(
            "content_html",
            f"has {tags} tags, {deepening} of them able to nest: too many for its "
            f"{len(text)} characters to be sanitised; simplify the markup or split the article",
        )
        return None
    return text


def _missing(value: object, path: str, errors: _Errors, required: str) -> None:
    """Record "is required" for a required field that is absent or blank (not mistyped)."""
    if required and (value is None or isinstance(value, str)):
        errors.add(path, f"is required: {required}")


def _one_line(value: object, path: str, errors: _Errors, required: str = "") -> str | None:
    """Plain text on one line (markup turned into text, whitespace collapped); blank = absent."""
    text = _string(value, path, errors)
    plain = plain_text(text) if text is not None else None
    if not plain:
        if required and text is not None and text.strip():
            _blank_once_plain(text, path, errors, required)
        else:
            _missing(value, path, errors, required)
        return None
    return plain


def _blank_once_plain(text: str, path: str, errors: _Errors, required: str) -> None:
    """Record that a required plain-text field holds nothing but markup."""
    what = required.split(" as ")[0]  # "the headline as a non-blank string" -> "the headline"
    errors.add(
        path,
        f"is blank once its markup is removed (tags dropped, character references decoded): "
        f"got {_show(text)}; send {what} as plain text",
    )


def _block(value: object, path: str, errors: _Errors) -> str | None:
    """Optional plain text (a sapo, a description): as :func:`_one_line`; blank = absent."""
    return _one_line(value, path, errors)


def _article_id(value: object, errors: _Errors) -> str | None:
    """The CMS id, checked against its pattern as sent (no trimming)."""
    text = _string(value, "id", errors)
    if not text:
        _missing(value, "id", errors, f"the CMS's stable id, {_ID_RULE}")
        return None
    if not _ID.fullmatch(text):
        errors.add("id", f"must be {_ID_RULE}, got {_show(text)}")
        return None
    return text


def _slug(value: object, path: str, errors: _Errors) -> str | None:
    """A required category slug (syntax only; whether it exists is the store's business)."""
    text = _string(value, path, errors)
    if not text:
        _missing(value, path, errors, f"a category slug of {_SLUG_RULE}")
        return None
    if len(text) > _SLUG_MAX:
        errors.add(path, f"must be at most {_SLUG_MAX} characters, got {len(text)}")
    elif text == "all":
        errors.add(path, "'all' is reserved for the feed of every category; use another slug")
    elif not _SLUG.fullmatch(text):
        errors.add(path, f"must be {_SLUG_RULE}, got {_show(text)}")
    else:
        return text
    return None


def _categories(value: object, errors: _Errors) -> tuple[str, ...]:
    """One or more slugs, in the order given, duplicates removed."""
    if value is None:
        errors.add("categories", 'is required: an array of category slugs like ["thoi-su"]')
        return ()
    if not isinstance(value, list):
        errors.add(
            "categories",
            f'must be an array of category slugs like ["thoi-su"], got {_json_type(value)}',
        )
        return ()
    if not value:
        errors.add("categories", "must list at least one category slug")
    if len(value) > _CATEGORIES_MAX:
        errors.add("categories", f"must list at most {_CATEGORIES_MAX} slugs, got {len(value)}")
        return ()
    slugs = (_slug(item, f"categories[{i}]", errors) for i, item in enumerate(value))
    return tuple(dict.fromkeys(slug for slug in slugs if slug))


def _url(value: object, path: str, errors: _Errors, required: str = "") -> str | None:
    """An absolute http(s) URL with a host, surrounding whitespace stripped."""
    text = _string(value, path, errors)
    text = text.strip() if text is not None else None
    if not text:
        _missing(value, path, errors, required)
        return None
    if not _is_web_url(text):
        errors.add(path, f"must be {_URL_RULE}, got {_show(text)}")
        return None
    return text


def _is_web_url(text: str) -> bool:
    """True for an absolute http/https URL with a host and no whitespace or controls."""
    if _UNSAFE_IN_URL.search(text):
        return False
    # Most URLs are plain ones that pass every check below; one regex tells them.
    return bool(_PLAIN_WEB_URL.fullmatch(text)) or _parses_as_web_url(text)


def _parses_as_web_url(text: str) -> bool:
    """The full check of :func:`_is_web_url` (whitespace and controls already excluded)."""
    try:
        parts = urlsplit(text)
        # urlsplit is lax ("http://999.999.999.999/" passes), so the URL must also satisfy the
        # WHATWG URL Standard parser, the one nh3 resolves body links with (and browsers use).
        nh3.clean("", url_relative=("rewrite_with_base", text))
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _image(value: object, errors: _Errors) -> ImageRecord | None:
    """The optional lead photo {url, caption?, mime_type?, length?}."""
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add(
            "image",
            f'must be an object like {{"url": "https://…/photo.jpg"}}, got {_json_type(value)}',
        )
        return None
    url = _url(value.get("url"), "image.url", errors, required=f"{_URL_RULE} of the photo")
    caption = _one_line(value.get("caption"), "image.caption", errors)
    mime_type = _mime_type(value.get("mime_type"), errors)
    length = _length(value.get("length"), errors)
    if url is None:
        return None
    return ImageRecord(url=url, caption=caption, mime_type=mime_type, length=length)


def _mime_type(value: object, errors: _Errors) -> str | None:
    """An image media type, lower-cased (media types are case-insensitive, RFC 6838 §4.2)."""
    text = _string(value, "image.mime_type", errors)
    text = text.strip().lower() if text is not None else None
    if not text:
        return None
    if not _IMAGE_MIME.fullmatch(text):
        errors.add(
            "image.mime_type", f"must be an image media type like 'image/jpeg', got {_show(text)}"
        )
        return None
    return text


def _length(value: object, errors: _Errors) -> int | None:
    """Size of the photo in bytes: a JSON integer ≥ 0 (not a boolean, not 12.0)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(
            "image.length",
            f"must be the size in bytes as a whole number ≥ 0, got {_json_type(value)}",
        )
    elif not 0 <= value <= _MAX_LENGTH:
        errors.add("image.length", f"must be 0 or more and below 2**63 (bytes), got {_show(value)}")
    else:
        return value
    return None


def _timestamp(
    value: object, path: str, tz: ZoneInfo, errors: _Errors, *, required: bool
) -> datetime | None:
    """An ISO 8601 date-time as an aware UTC datetime; without an offset it is read in tz."""
    text = _string(value, path, errors)
    text = text.strip() if text is not None else None
    if not text:
        _missing(value, path, errors, _DATE_TIME_HINT if required else "")
        return None
    match = _DATE_TIME.fullmatch(text)
    if not match:
        hint = " (a date alone has no time of day)" if _DATE_ONLY.fullmatch(text) else ""
        errors.add(path, f"must be {_DATE_TIME_HINT}, got {_show(text)}{hint}")
        return None
    try:
        utc = _to_utc(match, tz)
    except ValueError as exc:
        errors.add(path, f"is not a real date-time ({exc}): {_show(text)}; use {_DATE_TIME_HINT}")
        return None
    if utc is None:
        errors.add(path, f"must be between the years 1970 and 9999 (UTC), got {_show(text)}")
    return utc


def _to_utc(match: re.Match[str], tz: ZoneInfo) -> datetime | None:
    """The matched instant in UTC, None outside 1970-9999; ValueError for impossible fields."""
    if int(match["year"]) < 1970:
        return None  # also spares datetime() the year 0
    try:
        utc = _build_datetime(match, tz).astimezone(UTC)
    except OverflowError:  # beyond 9999-12-31T23:59:59.999999Z
        return None
    return utc if utc >= _EARLIEST else None


def _build_datetime(match: re.Match[str], tz: ZoneInfo) -> datetime:
    """The datetime the regex matched; raises ValueError for impossible fields."""
    fraction = (match["frac"] or "")[:6].ljust(6, "0")
    naive = datetime(
        int(match["year"]),
        int(match["month"]),
        int(match["day"]),
        int(match["hour"]),
        int(match["minute"]),
        int(match["second"] or 0),
        int(fraction),
    )
    offset = match["offset"]
    if offset is None:
        return naive.replace(tzinfo=tz)
    if offset in ("Z", "z"):
        return naive.replace(tzinfo=UTC)
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"offset {offset} is out of range")
    sign = -1 if offset[0] == "-" else 1
    return naive.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))


def _format_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with "Z"; a fraction of a second only when there is one."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{utc.microsecond:06d}Z" if utc.microsecond else f"{text}Z"


def _without_none(fields: dict[str, Any]) -> dict[str, Any]:
    """fields without the keys whose value is None."""
    return {key: value for key, value in fields.items() if value is not None}


def _json_type(value: object) -> str:
    """The JSON name of value's type, for messages ("number", "array", …)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names = {str: "string", list: "array", dict: "object"}
    return next(
        (name for kind, name in names.items() if isinstance(value, kind)), type(value).__name__
    )


def _show(value: object) -> str:
    """A short, safe rendering of a bad value for a message."""
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:80] + "…")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**30:
        return str(value)
    return _json_type(value)
