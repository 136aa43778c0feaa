"""One article's versions: a strong ETag (the stored record's hash) on GET and PUT, If-None-Match
for 304 on GET, and If-Match / If-None-Match on PUT and DELETE with 412 when they do not hold, so
that an out-of-order retry cannot overwrite a newer version. The batch call takes none."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from feedsvc import store
from feedsvc.web.preconditions import MalformedCondition, Outcome, parse_conditions, parse_tags

from tests.helpers.app import TOKENS, services
from tests.helpers.openapi import conforming

AUTH = {"Authorization": f"Bearer {TOKENS[0]}"}
PATH = "/api/v1/articles/bp-1"


def article(**fields: Any) -> dict[str, Any]:
    return {
        "url": "https://bienphong.example/bp-1.html",
        "title": "Tin bp-1",
        "categories": ["thoi-su"],
        "published_at": "2026-11-19T08:00:00+07:00",
        **fields,
    }


def put(client: FlaskClient, payload: object = None, **headers: str) -> TestResponse:
    return client.put(
        PATH, json=article() if payload is None else payload, headers={**AUTH, **headers}
    )


def get(client: FlaskClient, **headers: str) -> TestResponse:
    return client.get(PATH, headers={**AUTH, **headers})


def delete(client: FlaskClient, **headers: str) -> TestResponse:
    return client.delete(PATH, headers={**AUTH, **headers})


@pytest.fixture
def desk(client: FlaskClient) -> FlaskClient:
    assert (
        client.put("/api/v1/categories/thoi-su", json={"name": "Thời sự"}, headers=AUTH).status_code
        == 201
    )
    return client


def stored_hash(app: Flask) -> str | None:
    with services(app).db.reading() as session:
        row = store.get_article(session, "bp-1")
        return None if row is None else row.record_hash


def changes(app: Flask) -> int:
    with services(app).db.reading() as session:
        return store.read_counter(session, "changes")


def failed(response: TestResponse) -> str:
    assert response.status_code == 412, response.data
    message = str(conforming(response, "Error")["error"])
    assert message.startswith("precondition failed") and "nothing was changed" in message
    return message


# --- the ETag -----------------------------------------------------------------------------------


def test_etag_is_the_stored_record_hash(app: Flask, desk: FlaskClient) -> None:
    created = put(desk)
    assert created.status_code == 201
    conforming(created, "Article")
    etag = created.headers["ETag"]
    assert etag == f'"{stored_hash(app)}"' and len(etag) == 66  # strong: no W/
    fetched = get(desk)
    assert fetched.headers["ETag"] == etag
    assert conforming(fetched, "Article")["title"] == "Tin bp-1"
    assert desk.head(PATH, headers=AUTH).headers["ETag"] == etag
    same = put(desk)  # an identical repeat: the same version
    assert same.status_code == 200 and same.headers["ETag"] == etag
    changed = put(desk, article(title="Tin bp-1, bản sửa"))
    assert changed.headers["ETag"] not in (etag, None)
    assert changed.headers["ETag"] == get(desk).headers["ETag"] == f'"{stored_hash(app)}"'


def test_equal_records_have_equal_etags_whatever_was_sent(desk: FlaskClient) -> None:
    """The tag names the record as accepted: a repeat written differently is the same version."""
    etag = put(desk).headers["ETag"]
    noisy = article(title="  Tin   bp-1 ", extra="ignored", summary="", categories=["thoi-su"] * 2)
    assert put(desk, noisy).headers["ETag"] == etag


# --- GET ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "status"),
    [
        ("{etag}", 304),
        ("W/{etag}", 304),  # If-None-Match compares weakly
        ('"other", {etag}', 304),
        ("*", 304),
        ('"other"', 200),
    ],
)
def test_get_if_none_match(desk: FlaskClient, condition: str, status: int) -> None:
    etag = put(desk).headers["ETag"]
    response = get(desk, **{"If-None-Match": condition.format(etag=etag)})
    assert response.status_code == status
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == "no-store"
    if status == 304:
        assert response.data == b"" and "Content-Type" not in response.headers


def test_get_if_match(desk: FlaskClient) -> None:
    etag = put(desk).headers["ETag"]
    assert get(desk, **{"If-Match": etag}).status_code == 200
    assert get(desk, **{"If-Match": "*"}).status_code == 200
    response = get(desk, **{"If-Match": '"other"'})
    failed(response)
    assert response.headers["ETag"] == etag  # the current version, to retry with


def test_conditions_on_an_unknown_article_are_404(desk: FlaskClient) -> None:
    """RFC 9110 §13.1: a response that would not be 2xx ignores the preconditions."""
    for call in (get, delete):
        assert call(desk, **{"If-Match": "*"}).status_code == 404
        assert call(desk, **{"If-None-Match": "*"}).status_code == 404


# --- PUT ----------------------------------------------------------------------------------------


def test_an_out_of_order_retry_cannot_overwrite_a_newer_version(
    app: Flask, desk: FlaskClient
) -> None:
    read = put(desk).headers["ETag"]  # the CMS reads version 1
    newer = put(desk, article(title="Bản mới hơn"))  # another editor saves version 2
    assert newer.status_code == 200
    late = put(desk, article(title="Bản cũ, gửi lại"), **{"If-Match": read})  # v1's retry
    message = failed(late)
    assert late.headers["ETag"] == newer.headers["ETag"]
    assert newer.headers["ETag"] in message and "changed since you read it" in message
    exists = failed(put(desk, article(), **{"If-None-Match": "*"}))
    assert "which If-None-Match names" in exists
    assert conforming(get(desk), "Article")["title"] == "Bản mới hơn"
    # With the current version, the edit goes through.
    again = put(desk, article(title="Bản sửa"), **{"If-Match": newer.headers["ETag"]})
    assert again.status_code == 200
    assert again.headers["ETag"] == f'"{stored_hash(app)}"'


@pytest.mark.parametrize(
    ("headers", "exists", "status"),
    [
        ({"If-Match": "*"}, True, 200),
        ({"If-Match": "*"}, False, 412),
        ({"If-Match": "{etag}"}, False, 412),
        ({"If-None-Match": "*"}, False, 201),  # create only
        ({"If-None-Match": "*"}, True, 412),
        ({"If-None-Match": '"other"'}, True, 200),
        ({"If-Match": "W/{etag}"}, True, 412),  # If-Match compares strongly: a weak tag never
        ({"If-Match": "{etag}", "If-None-Match": "*"}, True, 412),
        ({"If-Match": '"a", {etag} , "b"'}, True, 200),
    ],
)
def test_put_conditions(
    app: Flask, desk: FlaskClient, headers: dict[str, str], exists: bool, status: int
) -> None:
    etag = put(desk).headers["ETag"] if exists else '"' + "0" * 64 + '"'
    if not exists:
        put(desk)
        assert delete(desk).status_code == 204  # deleted: no current version
    before = (stored_hash(app), changes(app))
    sent = {name: value.format(etag=etag) for name, value in headers.items()}
    response = put(desk, article(title="Tin mới"), **sent)
    assert response.status_code == status, response.data
    if status == 412:
        failed(response)
        assert (stored_hash(app), changes(app)) == before  # nothing was written
        assert ("ETag" in response.headers) == exists
    else:
        assert conforming(get(desk), "Article")["title"] == "Tin mới"


def test_the_condition_is_checked_before_the_record(desk: FlaskClient) -> None:
    put(desk)
    failed(put(desk, article(title=""), **{"If-Match": '"stale"'}))
    assert put(desk, article(title=""), **{"If-Match": "*"}).status_code == 422


# --- DELETE -------------------------------------------------------------------------------------


def test_delete_conditions(app: Flask, desk: FlaskClient) -> None:
    etag = put(desk).headers["ETag"]
    before = changes(app)
    failed(delete(desk, **{"If-Match": '"stale"'}))
    failed(delete(desk, **{"If-None-Match": etag}))
    assert changes(app) == before and get(desk).status_code == 200
    deleted = delete(desk, **{"If-Match": etag})
    assert deleted.status_code == 204 and get(desk).status_code == 404
    assert put(desk).status_code == 201
    assert delete(desk, **{"If-Match": "*"}).status_code == 204


# --- refused ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["abc", '"unterminated', '"a" "b"', 'W/"a', '"a",, x', "", '"a\x7f"'], ids=repr
)
@pytest.mark.parametrize("name", ["If-Match", "If-None-Match"])
def test_malformed_conditions_are_400(desk: FlaskClient, name: str, value: str) -> None:
    put(desk)
    for call in (get, delete):
        response = call(desk, **{name: value})
        assert response.status_code == 400, (name, value)
        assert name in conforming(response, "Error")["error"]
    assert get(desk).status_code == 200  # the DELETE did nothing


def test_the_batch_and_the_categories_take_no_condition(app: Flask, desk: FlaskClient) -> None:
    batch = [{"id": "bp-9", **article()}]
    before = changes(app)
    for headers in ({"If-Match": "*"}, {"If-None-Match": "*"}):
        response = desk.post("/api/v1/articles", json=batch, headers={**AUTH, **headers})
        assert response.status_code == 400
        assert "no If-Match" in conforming(response, "Error")["error"]
        response = desk.put(
            "/api/v1/categories/kinh-te", json={"name": "Kinh tế"}, headers={**AUTH, **headers}
        )
        assert response.status_code == 400
    assert changes(app) == before
    # Reads ignore them: a full answer is never wrong.
    assert desk.get("/api/v1/categories", headers={**AUTH, "If-None-Match": "*"}).status_code == 200


def test_concurrent_conditional_writes_one_wins(app: Flask, desk: FlaskClient) -> None:
    """Many editors holding the same version: exactly one write goes through (the version is
    locked for the transaction that checks it)."""
    etag = put(desk).headers["ETag"]
    statuses: list[int] = []
    lock = threading.Lock()

    def edit(n: int) -> None:
        client = app.test_client()
        response = put(client, article(title=f"Bản {n}"), **{"If-Match": etag})
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] + [412] * 5
    title = json.loads(get(desk).data)["title"]
    assert title.startswith("Bản ")


# --- the header parser --------------------------------------------------------------------------


def test_parse_tags() -> None:
    assert parse_tags("If-Match", " * ").any
    tags = parse_tags("If-Match", ' , "a",W/"b" ,"" ')
    assert tags.tags == ((False, '"a"'), (True, '"b"'), (False, '""'))
    for bad in ("a", '"a" b', '"a', "**", 'w/"a"'):
        with pytest.raises(MalformedCondition):
            parse_tags("If-Match", bad)


def test_outcomes() -> None:
    version = "ab" * 32
    tag = f'"{version}"'
    assert parse_conditions(None, None) is None
    cases = [
        ((tag, None), version, True, Outcome.PROCEED),
        ((tag, None), None, False, Outcome.FAILED),
        ((None, tag), version, True, Outcome.NOT_MODIFIED),
        ((None, tag), version, False, Outcome.FAILED),
        ((None, "*"), None, False, Outcome.PROCEED),
        (('"x"', tag), version, True, Outcome.FAILED),  # If-Match decides first
    ]
    for (if_match, if_none_match), current, safe, outcome in cases:
        conditions = parse_conditions(if_match, if_none_match)
        assert conditions is not None
        assert conditions.outcome(current, safe=safe) is outcome
