"""Authentication of the ingest API: bearer tokens in the Authorization header only, several at
once for rotation, every failure a 401 (never a 500), and no token ever in a log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from feedsvc import create_app, store
from feedsvc.clock import FrozenClock
from feedsvc.config import ConfigError
from feedsvc.web.auth import token_matches

from tests.helpers.app import services

GOOD = "test-token-1"
# Every credential any test here sends or configures: none may reach a log line.
SECRETS = (
    "test-token-1",
    "test-token-2",
    "wrong-token-9",
    "rotated-old-7",
    "rotated-new-8",
    "dGVzdDp0ZXN0",
    "tết-token",
    "t\xc3\xa1\xba\xbft-token",
)
ARTICLE = {
    "url": "https://bienphong.example/bp-1.html",
    "title": "Đồn Biên phòng tuần tra",
    "categories": ["thoi-su"],
    "published_at": "2026-11-19T08:00:00+07:00",
}
# (method, path, JSON body) of every endpoint.
ENDPOINTS = [
    ("PUT", "/api/v1/categories/thoi-su", {"name": "Thời sự"}),
    ("PUT", "/api/v1/articles/bp-1", ARTICLE),
    ("GET", "/api/v1/articles/bp-1", None),
    ("DELETE", "/api/v1/articles/bp-1", None),
    ("POST", "/api/v1/articles", [ARTICLE]),
]
ENDPOINT_IDS = [f"{m} {p}" for m, p, _ in ENDPOINTS]
CHALLENGE = 'Bearer realm="feedsvc"'
INVALID_TOKEN = 'Bearer realm="feedsvc", error="invalid_token"'


@pytest.fixture(autouse=True)
def no_token_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every log line of every test here, at DEBUG, is free of every credential."""
    caplog.set_level(logging.DEBUG)
    yield
    # In teardown caplog.records holds only this phase's records: collect every phase's.
    records = [r for when in ("setup", "call", "teardown") for r in caplog.get_records(when)]
    for record in records:
        line = record.getMessage() + (record.exc_text or "")
        assert not [s for s in SECRETS if s in line], line


def call(client: FlaskClient, endpoint: tuple[str, str, Any], **kwargs: Any) -> TestResponse:
    method, path, payload = endpoint
    return client.open(path, method=method, json=payload, **kwargs)


def error_of(response: TestResponse, status: int) -> str:
    """The message of an error response, checking its exact shape and headers."""
    assert response.status_code == status, response.data
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = json.loads(response.data)
    assert set(body) == {"error", "details"} and body["details"] == []
    for secret in SECRETS:
        assert secret not in body["error"], "a credential is echoed back"
    return str(body["error"])


def changes(app: Flask) -> int:
    """The store's change counter: any write moves it."""
    with services(app).db.reading() as session:
        return store.read_counter(session, "changes")


def make_app(database_url: str, clock: FrozenClock, tokens: str) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "CLOCK": clock,
            "FEEDSVC_DATABASE_URL": database_url,
            "FEEDSVC_SCHEDULER": "off",
            "FEEDSVC_BASE_URL": "http://feeds.test",
            "FEEDSVC_SITE_URL": "https://bienphong.example",
            "FEEDSVC_API_TOKENS": tokens,
        }
    )


@pytest.fixture
def second_app(database_url: str, clock: FrozenClock) -> Iterator[Flask]:
    """Another process on the same database whose FEEDSVC_API_TOKENS rotated test-token-1 out."""
    app = make_app(database_url, clock, "rotated-new-8,test-token-2")
    yield app
    services(app).shutdown()


# --- refused credentials -------------------------------------------------------------------------

# (case, WSGI environ value of HTTP_AUTHORIZATION or None, expected WWW-Authenticate). Header
# bytes reach a WSGI app decoded as latin-1 (PEP 3333), so a UTF-8 token arrives as mojibake.
REFUSED = [
    ("none", None, CHALLENGE),
    ("empty", "", CHALLENGE),
    ("blank", "   ", CHALLENGE),
    ("Bearer without a token", "Bearer", CHALLENGE),
    ("Bearer and a space", "Bearer ", CHALLENGE),
    ("Basic", "Basic dGVzdDp0ZXN0", CHALLENGE),
    ("token without scheme", GOOD, CHALLENGE),
    ("other scheme", f"Token {GOOD}", CHALLENGE),
    ("wrong token", "Bearer wrong-token-9", INVALID_TOKEN),
    ("prefix of a token", "Bearer test-token-", INVALID_TOKEN),
    ("token with a suffix", f"Bearer {GOOD}x", INVALID_TOKEN),
    ("two tokens", f"Bearer {GOOD} {GOOD}", INVALID_TOKEN),
    ("two headers joined", f"Bearer {GOOD}, Bearer {GOOD}", INVALID_TOKEN),
    ("tab inside", "Bearer test-\ttoken-1", INVALID_TOKEN),
    ("non-ASCII (UTF-8 as latin-1)", "Bearer t\xc3\xa1\xba\xbft-token", INVALID_TOKEN),
    ("non-ASCII latin-1", "Bearer t\xe9st-token-1", INVALID_TOKEN),
    ("control character", "Bearer test-token-1\x00", INVALID_TOKEN),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize(
    ("header", "challenge"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_refused_credentials_are_401(
    app: Flask,
    client: FlaskClient,
    endpoint: tuple[str, str, Any],
    header: str | None,
    challenge: str,
) -> None:
    before = changes(app)
    environ = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = call(client, endpoint, environ_overrides=environ)
    message = error_of(response, 401)
    assert response.headers["WWW-Authenticate"] == challenge
    assert "Authorization" in message or "token" in message
    assert changes(app) == before


def test_non_ascii_token_through_the_test_client(app: Flask, client: FlaskClient) -> None:
    """The same through werkzeug's own header encoding."""
    response = client.get("/api/v1/articles/bp-1", headers={"Authorization": "Bearer tết-token"})
    error_of(response, 401)


@pytest.mark.parametrize(
    "header",
    [f"Bearer {GOOD}", "Bearer test-token-2", f"bearer {GOOD}", f"BEARER   {GOOD}"],
    ids=["first", "second", "lower-case scheme", "spaces"],
)
def test_accepted_credentials(client: FlaskClient, header: str) -> None:
    response = client.put(
        "/api/v1/categories/thoi-su", json={"name": "Thời sự"}, headers={"Authorization": header}
    )
    assert response.status_code in (200, 201), response.data


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(b"{", "application/json"), (b"x" * 9_000_000, "application/json"), (b"a=b", "text/plain")],
    ids=["unparseable", "too large", "wrong type"],
)
def test_authentication_comes_before_the_body(
    client: FlaskClient, data: bytes, content_type: str
) -> None:
    response = client.put(
        "/api/v1/articles/bp-1", data=data, headers={"Content-Type": content_type}
    )
    error_of(response, 401)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_no_tokens_configured_refuses_reads_and_writes(
    database_url: str, clock: FrozenClock, endpoint: tuple[str, str, Any]
) -> None:
    app = make_app(database_url, clock, "")
    try:
        response = call(app.test_client(), endpoint, headers={"Authorization": f"Bearer {GOOD}"})
        assert "FEEDSVC_API_TOKENS" in error_of(response, 401)
        assert response.headers["WWW-Authenticate"] == CHALLENGE
    finally:
        services(app).shutdown()


@pytest.mark.parametrize("tokens", ["a,,b", "a,", ",a", " , ", "a, ,b"])
def test_empty_entry_in_the_token_list_stops_start_up(
    database_url: str, clock: FrozenClock, tokens: str
) -> None:
    with pytest.raises(ConfigError, match="FEEDSVC_API_TOKENS"):
        make_app(database_url, clock, tokens)


def test_rotated_out_token(app: Flask, second_app: Flask) -> None:
    old, new = app.test_client(), second_app.test_client()
    category = ("PUT", "/api/v1/categories/thoi-su", {"name": "Thời sự"})
    assert call(old, category, headers={"Authorization": f"Bearer {GOOD}"}).status_code == 201
    refused = call(new, category, headers={"Authorization": f"Bearer {GOOD}"})
    error_of(refused, 401)
    assert refused.headers["WWW-Authenticate"] == INVALID_TOKEN
    for client in (old, new):  # the token both lists share works everywhere
        response = call(client, category, headers={"Authorization": "Bearer test-token-2"})
        assert response.status_code == 200
    assert call(new, category, headers={"Authorization": "Bearer rotated-new-8"}).status_code == 200


# --- credentials anywhere else -----------------------------------------------------------------


INVALID_REQUEST = 'Bearer realm="feedsvc", error="invalid_request"'
# (query, Authorization header sent, status, WWW-Authenticate or None, a word of the message).
QUERIES = [
    ("access_token alone", f"access_token={GOOD}", False, 401, CHALLENGE, "Authorization"),
    ("access_token and header", f"access_token={GOOD}", True, 400, INVALID_REQUEST, "rotate"),
    ("token and header", f"x=1&Token={GOOD}", True, 400, INVALID_REQUEST, "Authorization"),
    ("other parameter alone", "pretty=1", False, 401, CHALLENGE, "Authorization"),
    ("other parameter and header", "pretty=1", True, 400, None, "query parameters"),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize(
    ("query", "with_header", "status", "www_authenticate", "word"),
    [c[1:] for c in QUERIES],
    ids=[c[0] for c in QUERIES],
)
def test_query_string_is_refused(
    app: Flask,
    client: FlaskClient,
    endpoint: tuple[str, str, Any],
    query: str,
    with_header: bool,
    status: int,
    www_authenticate: str | None,
    word: str,
) -> None:
    """A token in the URL is never read: 401 alone, 400 beside a header (RFC 6750 §3.1)."""
    before = changes(app)
    headers = {"Authorization": f"Bearer {GOOD}"} if with_header else {}
    method, path, payload = endpoint
    response = call(client, (method, f"{path}?{query}", payload), headers=headers)
    assert word in error_of(response, status)
    assert response.headers.get("WWW-Authenticate") == www_authenticate
    assert changes(app) == before


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
@pytest.mark.parametrize(
    ("with_header", "status"), [(False, 401), (True, 400)], ids=["form alone", "form and header"]
)
def test_form_body_is_refused(
    app: Flask, client: FlaskClient, content_type: str, with_header: bool, status: int
) -> None:
    before = changes(app)
    headers = {"Content-Type": content_type}
    if with_header:
        headers["Authorization"] = f"Bearer {GOOD}"
    response = client.put(
        "/api/v1/categories/thoi-su", data=f"access_token={GOOD}&name=x", headers=headers
    )
    assert "Authorization" in error_of(response, status)
    assert changes(app) == before


# --- the comparison itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "tokens", "expected"),
    [
        ("a", ("a",), True),
        ("b", ("a", "b", "c"), True),
        ("c", ("a", "b", "c"), True),
        ("d", ("a", "b", "c"), False),
        ("ab", ("a",), False),
        ("a", ("ab",), False),
        ("A", ("a",), False),
    ],
)
def test_token_matches(token: str, tokens: tuple[str, ...], expected: bool) -> None:
    assert token_matches(token, tokens) is expected


def test_refusals_are_logged_without_the_token(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A run of every refused case at DEBUG: the refusals are logged, the credentials never."""
    for _, header, _ in REFUSED:
        environ = {} if header is None else {"HTTP_AUTHORIZATION": header}
        call(client, ENDPOINTS[1], environ_overrides=environ)
    call(client, ENDPOINTS[1], query_string={"access_token": GOOD})
    call(client, ENDPOINTS[1], headers={"Authorization": f"Bearer {GOOD}"})
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == len(REFUSED) + 1  # and the token in the query string
    for record in caplog.records:
        for secret in SECRETS:
            assert secret not in record.getMessage()
