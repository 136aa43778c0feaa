"""JSON Feed: the lead photo as an attachment too (issue 14, problem 5).

Readers that take enclosures from ``attachments`` only showed no picture. The photo stays in
``image``, and is also the item's one attachment, with the ``mime_type`` JSON Feed 1.1 requires
(the record's, else the URL's extension; no attachment when neither tells) and
``size_in_bytes`` when the record gave a length.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from feedsvc.render import jsonfeed
from feedsvc.render.feed import Feed, Image, Item

from tests.helpers.app import article, load, services

WHEN = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
PHOTO = "https://bienphong.example/images/2026/11/20/tuan-tra"


def _feed(image: Image | None) -> Feed:
    item = Item(
        id="tag:bienphong.example,2026:article/a1",
        article_id="a1",
        url="https://bienphong.example/a1.html",
        title="Tuần tra biên giới",
        published=WHEN,
        updated=WHEN,
        content_html="<p>Nội dung.</p>",
        image=image,
    )
    return Feed(
        key="thoi-su",
        title="Báo Biên phòng – Thời sự",
        description="Tin thời sự",
        site_url="https://bienphong.example",
        site_title="Báo Biên phòng",
        base_url="http://feeds.test",
        timezone=ZoneInfo("Asia/Ho_Chi_Minh"),
        last_modified=WHEN,
        max_age=60,
        items=(item,),
    )


def _item(image: Image | None) -> dict[str, Any]:
    (obj,) = json.loads(jsonfeed.render(_feed(image)))["items"]
    assert isinstance(obj, dict)
    return obj


CASES: list[tuple[str, Image, dict[str, Any] | None]] = [
    (
        "type and length given",
        Image(f"{PHOTO}.jpg", "Tuần tra", mime_type="image/jpeg", length=183245),
        {"url": f"{PHOTO}.jpg", "mime_type": "image/jpeg", "size_in_bytes": 183245},
    ),
    (
        "the record's type wins over the extension",
        Image(f"{PHOTO}.jpg", mime_type="image/webp"),
        {"url": f"{PHOTO}.jpg", "mime_type": "image/webp"},
    ),
    ("type from .png", Image(f"{PHOTO}.png"), {"url": f"{PHOTO}.png", "mime_type": "image/png"}),
    (
        "type from .JPEG, query ignored",
        Image(f"{PHOTO}.JPEG?w=800", length=0),
        {"url": f"{PHOTO}.JPEG?w=800", "mime_type": "image/jpeg"},
    ),
    (
        "type from .webp",
        Image(f"{PHOTO}.webp"),
        {"url": f"{PHOTO}.webp", "mime_type": "image/webp"},
    ),
    ("unknown type: no attachment", Image("https://bienphong.example/image.php?id=4412"), None),
    ("no extension: no attachment", Image(PHOTO, length=1000), None),
]


@pytest.mark.parametrize(("image", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_lead_photo_is_an_attachment(image: Image, expected: dict[str, Any] | None) -> None:
    obj = _item(image)
    assert obj["image"] == image.url  # kept as it was
    if expected is None:
        assert "attachments" not in obj
    else:
        assert obj["attachments"] == [expected]


def test_no_photo_no_attachment() -> None:
    obj = _item(None)
    assert "image" not in obj and "attachments" not in obj


def test_attachments_are_json_feed_1_1() -> None:
    """Every attachment has the required url and mime_type, and only the spec's members."""
    for _, image, _ in CASES:
        for attachment in _item(image).get("attachments", []):
            assert {"url", "mime_type"} <= set(attachment)
            assert set(attachment) <= {"url", "mime_type", "title", "size_in_bytes", "duration"}
            assert attachment["url"].startswith("https://")
            assert isinstance(attachment.get("size_in_bytes", 1), int)


def test_a_stored_article_served_with_its_attachment(app: Flask) -> None:
    """From the record to the served feed: the image's type and length, as the CMS sent them."""
    image = {"url": f"{PHOTO}.jpg", "caption": "Tuần tra", "mime_type": "image/jpeg"}
    load(
        app,
        [{"slug": "thoi-su", "name": "Thời sự"}],
        [
            article("with-length", image={**image, "length": 52_000}),
            article("no-length", image=image, published_at="2026-11-19T07:00:00+07:00"),
            article("no-photo", published_at="2026-11-19T06:00:00+07:00"),
        ],
    )
    assert services(app).regenerator.run().ok
    for key in ("thoi-su", "all"):
        items = json.loads(app.test_client().get(f"/feeds/{key}.json").data)["items"]
        found = {i["id"].rsplit("/", 1)[1]: i.get("attachments") for i in items}
        assert found == {
            "with-length": [
                {"url": f"{PHOTO}.jpg", "mime_type": "image/jpeg", "size_in_bytes": 52000}
            ],
            "no-length": [{"url": f"{PHOTO}.jpg", "mime_type": "image/jpeg"}],
            "no-photo": None,
        }
