"""Renderers: parse what RSS, Atom, JSON Feed and OPML render and check every field."""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import pytest
from lxml import etree, html

from feedsvc.config import Settings, load_settings
from feedsvc.publish.feed_builder import build_feed
from feedsvc.render import MEDIA_TYPES, RENDERERS, Parts, atom, jsonfeed, opml, rss
from feedsvc.render._common import image_type, rfc822, rfc3339, ttl_minutes, update_frequency
from feedsvc.render.feed import Feed, Image, Item
from feedsvc.store.models import Category
from feedsvc.store.reading import ArticleRow, LinkRow

from tests.helpers import paths

DATA = paths.DATA / "render_articles.json"
# The RFC 4287 schema lives beside the project (../shared), never copied into it.
ATOM_RNG = paths.ATOM_RNG
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "media": "http://search.yahoo.com/mrss/",
    "sy": "http://purl.org/rss/1.0/modules/syndication/",
}
KEYS = ["thoi-su", "quoc-phong-an-ninh", "all", "bien-gioi-lanh-tho"]
LAST_MODIFIED = datetime(2023, 2, 4, 2, 41, 7, tzinfo=UTC)  # 09:41:07 +07:00
HUB = "http://127.0.0.1:8000/websub"
VN = "Asia/Ho_Chi_Minh"


def load() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def sample_settings(hub: bool) -> Settings:
    """The settings of the sample site; ``hub``: with this service's own WebSub hub (HUB)."""
    site = load()["site"]
    return load_settings(
        {
            "FEEDSVC_BASE_URL": site["base_url"],
            "FEEDSVC_SITE_URL": site["site_url"].rstrip("/"),  # as the setting must be
            "FEEDSVC_SITE_TITLE": site["site_title"],
            "FEEDSVC_TAG_AUTHORITY": site["tag_authority"],
            "FEEDSVC_TIMEZONE": site["timezone"],
            "FEEDSVC_CACHE_MAX_AGE": "60",
            "FEEDSVC_WEBSUB_HUB": "self" if hub else "",
        }
    )


def stored_row(record: dict[str, Any]) -> ArticleRow:
    """A sample article record as the store would give it back to regeneration."""
    published = datetime.fromisoformat(record["published_at"])
    updated = record.get("updated_at")
    image = record.get("image") or {}
    return ArticleRow(
        id=record["id"],
        url=record["url"],
        title=record["title"],
        summary=record.get("summary"),
        content_html=record.get("content_html"),
        author=record.get("author"),
        image_url=image.get("url"),
        image_caption=image.get("caption"),
        image_mime_type=image.get("mime_type"),
        image_length=image.get("length"),
        published_at=published,
        updated_at=datetime.fromisoformat(updated) if updated else None,
        modified_at=published,
        record_hash=hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest(),
        links=tuple(LinkRow(slug) for slug in record["categories"]),
    )


def sample_feed(key: str, hub: bool = True) -> Feed:
    """The feed of category ``key`` (or ``all``) from the sample data, built as regeneration
    builds it from stored rows, newest first."""
    data = load()
    names = {c["slug"]: c["name"] for c in data["categories"]}
    records = [a for a in data["articles"] if key == "all" or key in a["categories"]]
    rows = sorted(map(stored_row, records), key=lambda r: (r.published_at, r.id), reverse=True)
    category = None
    found = next((c for c in data["categories"] if c["slug"] == key), None)
    if found is not None:
        category = Category(slug=key, name=found["name"], description=found["description"])
    return build_feed(sample_settings(hub), key, category, rows, names, LAST_MODIFIED)


@pytest.fixture(params=KEYS)
def feed(request: pytest.FixtureRequest) -> Feed:
    return sample_feed(request.param)


def xml(document: bytes) -> etree._Element:
    return etree.fromstring(document)


def one(node: etree._Element, path: str) -> etree._Element:
    found = node.findall(path, NS)
    assert len(found) == 1, f"expected exactly one {path}, found {len(found)}"
    return found[0]


def figure(fragment: str, image: Image) -> None:
    """The HTML starts with the lead photo's <figure> (img src/alt and the caption)."""
    first = html.fragments_fromstring(fragment)[0]
    assert first.tag == "figure"
    img = first.find("img")
    assert img.get("src") == image.url
    assert img.get("alt") == (image.caption or "")
    caption = first.find("figcaption")
    assert (caption.text if caption is not None else None) == image.caption


def html_text(fragment: str) -> str:
    return html.fromstring(f"<div>{fragment}</div>").text_content()


def check_media(node: etree._Element, image: Image) -> None:
    """Item-level media:content and media:thumbnail (not in media:group), caption inside."""
    assert node.find("media:group", NS) is None
    content = one(node, "media:content")
    assert content.get("url") == image.url and content.get("medium") == "image"
    assert content.get("type") == image_type(image)
    title = content.find("media:title", NS)
    assert (title.text if title is not None else None) == image.caption
    assert one(node, "media:thumbnail").get("url") == image.url


# --- RSS 2.0 -----------------------------------------------------------------------------


def test_rss_channel(feed: Feed) -> None:
    channel = one(xml(rss.render(feed)), "channel")
    assert one(channel, "title").text == feed.title
    assert one(channel, "link").text == feed.site_url  # not the self link (feedgen trap)
    assert one(channel, "description").text == feed.description
    assert one(channel, "language").text == "vi"
    assert one(channel, "generator").text == "feedsvc"
    links = {a.get("rel"): a for a in channel.findall("atom:link", NS)}
    assert links["self"].get("href") == f"http://127.0.0.1:8000/feeds/{feed.key}.rss"
    assert links["self"].get("type") == "application/rss+xml"
    assert links["hub"].get("href") == HUB
    last_build = one(channel, "lastBuildDate").text
    assert last_build == "Sat, 04 Feb 2023 09:41:07 +0700"  # the feed's instant, not the clock
    assert parsedate_to_datetime(last_build) == LAST_MODIFIED
    assert one(channel, "ttl").text == "1"
    assert one(channel, "sy:updatePeriod").text == "hourly"
    assert one(channel, "sy:updateFrequency").text == "60"
    assert one(channel, "image/url").text == feed.logo_url
    assert one(channel, "image/link").text == feed.site_url
    assert [one(i, "guid").text for i in channel.findall("item")] == [i.id for i in feed.items]


def test_rss_items(feed: Feed) -> None:
    channel = one(xml(rss.render(feed)), "channel")
    for node, item in zip(channel.findall("item"), feed.items, strict=True):
        guid = one(node, "guid")
        assert (guid.text, guid.get("isPermaLink")) == (item.id, "false")
        assert one(node, "title").text == item.title
        assert one(node, "link").text == item.url
        pub = one(node, "pubDate").text
        assert pub.endswith(" +0700") and parsedate_to_datetime(pub) == item.published
        assert [c.text for c in node.findall("category")] == [c.name for c in item.categories]
        assert node.find("author") is None  # RSS <author> must be an e-mail address
        creators = [c.text for c in node.findall("dc:creator", NS)]
        assert creators == ([item.author] if item.author else [])
        description = one(node, "description").text
        content = one(node, "content:encoded").text
        assert html_text(description).endswith(item.summary or item.title)
        if item.content_html:
            assert content.endswith(item.content_html)
        else:
            assert html_text(content).endswith(item.summary or item.title)
        check_rss_image(node, item, description, content)


def check_rss_image(node: etree._Element, item: Item, description: str, content: str) -> None:
    if item.image is None:
        assert node.find("enclosure") is None and node.find("media:content", NS) is None
        assert "<figure" not in description + content
        return
    figure(description, item.image)
    figure(content, item.image)
    check_media(node, item.image)
    kind = image_type(item.image)
    enclosures = node.findall("enclosure")
    if kind is None:
        assert enclosures == []  # neither mime_type nor extension tells: left out
        return
    assert len(enclosures) == 1
    assert enclosures[0].attrib == {
        "url": item.image.url,
        "length": str(item.image.length or 0),
        "type": kind,
    }


def test_rss_feedparser(feed: Feed) -> None:
    parsed = feedparser.parse(rss.render(feed))
    assert parsed.bozo == 0 and parsed.version == "rss20"
    assert parsed.feed.title == feed.title and parsed.feed.link == feed.site_url
    assert parsed.feed.language == "vi"
    for entry, item in zip(parsed.entries, feed.items, strict=True):
        assert entry.id == item.id and entry.guidislink is False
        assert entry.title == item.title and entry.link == item.url
        assert calendar.timegm(entry.published_parsed) == int(item.published.timestamp())
        assert entry.get("author") == item.author
        assert [t.term for t in entry.get("tags", [])] == [c.name for c in item.categories]
        assert item.title in entry.content[0].value or (item.content_html or "") in (
            entry.content[0].value
        )
        if item.image is not None:
            assert entry.media_content[0]["url"] == item.image.url
            assert entry.media_thumbnail[0]["url"] == item.image.url


# --- Atom 1.0 ----------------------------------------------------------------------------


def test_atom_feed_level(feed: Feed) -> None:
    root = xml(atom.render(feed))
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "vi"
    assert one(root, "atom:id").text == f"http://127.0.0.1:8000/feeds/{feed.key}.atom"
    assert one(root, "atom:title").text == feed.title
    assert one(root, "atom:subtitle").text == feed.description
    assert one(root, "atom:updated").text == "2023-02-04T09:41:07+07:00"
    assert one(root, "atom:author/atom:name").text == feed.site_title
    links = {a.get("rel"): a.get("href") for a in root.findall("atom:link", NS)}
    assert links == {
        "self": f"http://127.0.0.1:8000/feeds/{feed.key}.atom",
        "alternate": feed.site_url,
        "hub": HUB,
    }
    assert one(root, "atom:icon").text == feed.icon_url
    assert one(root, "atom:logo").text == feed.logo_url
    assert one(root, "atom:generator").text == "feedsvc"


def test_atom_entries(feed: Feed) -> None:
    document = atom.render(feed)
    assert b"CDATA" not in document  # content(type="CDATA") would be invalid Atom
    nodes = xml(document).findall("atom:entry", NS)
    for node, item in zip(nodes, feed.items, strict=True):
        assert one(node, "atom:id").text == item.id
        assert one(node, "atom:title").text == item.title
        assert one(node, "atom:published").text == rfc3339_expected(item.published)
        assert one(node, "atom:updated").text == rfc3339_expected(item.updated)
        authors = [a.text for a in node.findall("atom:author/atom:name", NS)]
        assert authors == ([item.author] if item.author else [])
        cats = [(c.get("term"), c.get("label")) for c in node.findall("atom:category", NS)]
        assert cats == [(c.slug, c.name) for c in item.categories]
        summary = node.find("atom:summary", NS)
        if item.summary:
            assert summary.get("type") is None and summary.text == item.summary
        else:
            assert summary is None
        content = one(node, "atom:content")
        assert content.get("type") == "html"
        if item.content_html:
            assert content.text.endswith(item.content_html)
        else:
            assert html_text(content.text).endswith(item.summary or item.title)
        check_atom_links(node, item, content.text)


def rfc3339_expected(moment: datetime) -> str:
    text = moment.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m-%dT%H:%M:%S")
    return text + "+07:00"


def check_atom_links(node: etree._Element, item: Item, content: str) -> None:
    links = node.findall("atom:link", NS)
    alternate = [a for a in links if a.get("rel") == "alternate"]
    assert [(a.get("href"), a.get("type")) for a in alternate] == [(item.url, "text/html")]
    enclosures = [a for a in links if a.get("rel") == "enclosure"]
    if item.image is None:
        assert enclosures == [] and "<figure" not in content
        return
    figure(content, item.image)
    check_media(node, item.image)
    assert [e.get("href") for e in enclosures] == [item.image.url]
    assert enclosures[0].get("type") == image_type(item.image)
    length = enclosures[0].get("length")
    assert length == (str(item.image.length) if item.image.length else None)


def test_atom_relax_ng(feed: Feed) -> None:
    if not ATOM_RNG.is_file():
        pytest.skip(f"RFC 4287 RELAX NG schema not found at {ATOM_RNG}: ../shared is absent")
    schema = etree.RelaxNG(etree.parse(str(ATOM_RNG)))
    document = xml(atom.render(feed))
    assert schema.validate(document), schema.error_log


def test_atom_feedparser(feed: Feed) -> None:
    parsed = feedparser.parse(atom.render(feed))
    assert parsed.bozo == 0 and parsed.version == "atom10"
    assert parsed.feed.title == feed.title and parsed.feed.link == feed.site_url
    assert parsed.feed.author == feed.site_title
    for entry, item in zip(parsed.entries, feed.items, strict=True):
        assert entry.id == item.id and entry.title == item.title and entry.link == item.url
        assert calendar.timegm(entry.published_parsed) == int(item.published.timestamp())
        assert calendar.timegm(entry.updated_parsed) == int(item.updated.timestamp())
        assert entry.get("author") == item.author  # feedparser does not inherit the feed's
        assert [(t.term, t.label) for t in entry.tags] == [
            (c.slug, c.name) for c in item.categories
        ]
        if item.summary:
            assert entry.summary == item.summary
        assert entry.content[0].type == "text/html"
        if item.image is not None:
            hrefs = [e.href for e in entry.enclosures]
            assert hrefs == [item.image.url]


# --- JSON Feed 1.1 -----------------------------------------------------------------------

TOP_KEYS = {"version", "title", "home_page_url", "feed_url", "description", "icon", "favicon"}
TOP_KEYS |= {"authors", "language", "hubs", "items"}
ITEM_KEYS = {"id", "url", "title", "content_html", "content_text", "summary", "image"}
ITEM_KEYS |= {"date_published", "date_modified", "authors", "tags", "attachments"}


def test_json_top_level(feed: Feed) -> None:
    doc = json.loads(jsonfeed.render(feed))
    assert set(doc) <= TOP_KEYS
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["title"] == feed.title and doc["description"] == feed.description
    assert doc["home_page_url"] == feed.site_url
    assert doc["feed_url"] == f"http://127.0.0.1:8000/feeds/{feed.key}.json"
    assert doc["language"] == "vi"
    assert doc["authors"] == [{"name": feed.site_title, "url": feed.site_url}]
    assert doc["hubs"] == [{"type": "WebSub", "url": HUB}]
    assert doc["icon"] == feed.logo_url and doc["favicon"] == feed.icon_url
    assert [i["id"] for i in doc["items"]] == [i.id for i in feed.items]


def test_json_items(feed: Feed) -> None:
    doc = json.loads(jsonfeed.render(feed))
    for obj, item in zip(doc["items"], feed.items, strict=True):
        assert set(obj) <= ITEM_KEYS
        assert (obj["id"], obj["url"], obj["title"]) == (item.id, item.url, item.title)
        assert obj["date_published"] == rfc3339_expected(item.published)
        assert obj["date_modified"] == rfc3339_expected(item.updated)
        assert obj.get("summary") == item.summary
        assert obj.get("authors") == ([{"name": item.author}] if item.author else None)
        assert obj["tags"] == [c.name for c in item.categories]
        if item.content_html:
            assert obj["content_html"].endswith(item.content_html)
            assert "content_text" not in obj
        else:
            assert obj["content_text"] == (item.summary or item.title)
        if item.image is None:
            assert "image" not in obj and "<figure" not in obj.get("content_html", "")
        else:
            assert obj["image"] == item.image.url
            figure(obj["content_html"], item.image)


# --- Across formats ----------------------------------------------------------------------


def ids_of(fmt: str, document: bytes) -> list[str]:
    if fmt == "json":
        return [i["id"] for i in json.loads(document)["items"]]
    return [e.id for e in feedparser.parse(document).entries]


def test_ids_identical_across_formats(feed: Feed) -> None:
    expected = [i.id for i in feed.items]
    for fmt, renderer in RENDERERS.items():
        assert ids_of(fmt, renderer.render(feed)) == expected, fmt


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_same_feed_same_bytes(feed: Feed, fmt: str) -> None:
    renderer = RENDERERS[fmt]
    first = renderer.render(feed)
    assert renderer.render(sample_feed(feed.key)) == first
    parts = renderer.render_parts(feed)
    assert parts.head + parts.sep.join(parts.items) + parts.tail == first
    assert b"feedsvc-cut" not in first  # the cut markers never reach a feed


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_parts_splice_every_limit(feed: Feed, fmt: str) -> None:
    parts = RENDERERS[fmt].render_parts(feed)
    assert isinstance(parts, Parts) and len(parts.items) == len(feed.items)
    for n in range(len(feed.items) + 1):
        spliced = parts.head + parts.sep.join(parts.items[:n]) + parts.tail
        assert spliced == parts.join(n)
        if fmt == "json":
            assert [i["id"] for i in json.loads(spliced)["items"]] == ids(feed, n)
            continue
        xml(spliced)  # well-formed
        parsed = feedparser.parse(spliced)
        assert parsed.bozo == 0 and [e.id for e in parsed.entries] == ids(feed, n)


def ids(feed: Feed, n: int) -> list[str]:
    return [i.id for i in feed.items[:n]]


def test_edit_changes_item_not_id() -> None:
    feed = sample_feed("thoi-su")
    first = feed.items[0]
    edited = dataclasses.replace(first, title="Tin đã sửa", updated=LAST_MODIFIED)
    changed = dataclasses.replace(feed, items=(edited,))
    for fmt, renderer in RENDERERS.items():
        before, after = renderer.render(feed), renderer.render(changed)
        assert before != after
        assert ids_of(fmt, after) == [first.id]


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_no_hub_no_hub_link(fmt: str) -> None:
    document = RENDERERS[fmt].render(sample_feed("thoi-su", hub=False))
    assert b"websub" not in document and b'"hubs"' not in document


def test_dispatch_tables() -> None:
    assert set(RENDERERS) == {"rss", "atom", "json"} == set(MEDIA_TYPES)
    assert MEDIA_TYPES == {
        "rss": "application/rss+xml; charset=utf-8",
        "atom": "application/atom+xml; charset=utf-8",
        "json": "application/feed+json; charset=utf-8",
    }


# --- Helpers (table-driven) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (datetime(2023, 2, 3, 11, 30, tzinfo=UTC), VN, "Fri, 03 Feb 2023 18:30:00 +0700"),
        (datetime(2024, 12, 31, 17, 0, 5, 999, tzinfo=UTC), VN, "Wed, 01 Jan 2025 00:00:05 +0700"),
        (datetime(2023, 7, 9, 12, 0, tzinfo=UTC), "UTC", "Sun, 09 Jul 2023 12:00:00 +0000"),
    ],
)
def test_rfc822(moment: datetime, zone: str, expected: str) -> None:
    assert rfc822(moment, ZoneInfo(zone)) == expected


def test_rfc3339() -> None:
    moment = datetime(2023, 2, 3, 11, 30, 0, 123456, tzinfo=UTC)
    assert rfc3339(moment, ZoneInfo("Asia/Ho_Chi_Minh")) == "2023-02-03T18:30:00+07:00"


@pytest.mark.parametrize(
    ("url", "mime", "expected"),
    [
        ("https://x.vn/a.jpg", None, "image/jpeg"),
        ("https://x.vn/a.JPEG?w=600", None, "image/jpeg"),
        ("https://x.vn/a.png", None, "image/png"),
        ("https://x.vn/a.gif", None, "image/gif"),
        ("https://x.vn/a.webp#frag", None, "image/webp"),
        ("https://x.vn/a.avif", None, "image/avif"),
        ("https://x.vn/image.php?id=1", None, None),
        ("https://x.vn/photo", None, None),
        ("https://x.vn/a.png", "image/jpeg", "image/jpeg"),
    ],
)
def test_image_type(url: str, mime: str | None, expected: str | None) -> None:
    assert image_type(Image(url=url, mime_type=mime)) == expected


@pytest.mark.parametrize(
    ("max_age", "ttl", "frequency"),
    [(1, 1, 3600), (59, 1, 61), (60, 1, 60), (61, 2, 59), (3600, 60, 1), (86400, 1440, 1)],
)
def test_ttl_and_update_frequency(max_age: int, ttl: int, frequency: int) -> None:
    assert ttl_minutes(max_age) == ttl
    assert update_frequency(max_age) == frequency


# --- OPML 2.0 ----------------------------------------------------------------------------


def opml_document() -> opml.OpmlDocument:
    data = load()
    base = data["site"]["base_url"]
    cats = [*data["categories"], {"slug": "all", "name": "Tất cả tin", "description": None}]
    outlines = tuple(
        opml.Outline(
            text=c["name"],
            title=f"Báo Biên phòng – {c['name']}",
            xml_url=f"{base}/feeds/{c['slug']}.rss",
            html_url=f"{base}/feeds/{c['slug']}.html",
            description=c["description"],
        )
        for c in cats
    )
    return opml.OpmlDocument(
        title="Báo Biên phòng & các chuyên mục",
        date_modified=LAST_MODIFIED.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")),
        outlines=outlines,
        owner_name="Báo Biên phòng",
        owner_id="https://www.bienphong.com.vn/",
    )


def test_opml() -> None:
    document = opml_document()
    rendered = opml.render(document)
    assert rendered == opml.render(opml_document())
    root = xml(rendered)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert one(root, "head/title").text == "Báo Biên phòng & các chuyên mục"
    modified = one(root, "head/dateModified").text
    assert modified == "Sat, 04 Feb 2023 09:41:07 +0700"
    assert parsedate_to_datetime(modified) == LAST_MODIFIED
    assert one(root, "head/ownerName").text == "Báo Biên phòng"
    assert one(root, "head/docs").text == "http://opml.org/spec2.opml"
    outlines = root.findall("body/outline")
    assert len(outlines) == 4
    for node, outline in zip(outlines, document.outlines, strict=True):
        assert node.get("type") == "rss" and node.get("version") == "RSS2"
        assert node.get("text") == outline.text and node.get("title") == outline.title
        assert node.get("xmlUrl") == outline.xml_url and node.get("htmlUrl") == outline.html_url
        assert node.get("description") == outline.description
    assert outlines[-1].get("xmlUrl") == "http://127.0.0.1:8000/feeds/all.rss"
