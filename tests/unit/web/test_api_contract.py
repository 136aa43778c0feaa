"""Schemathesis against the live app: property-based requests built from the OpenAPI document
(its examples, its schemas, and requests that break them), each answer checked against it.

Every operation gets at most MAX_EXAMPLES generated requests (plus Schemathesis's coverage and
example phases), on each store; nothing may answer 5xx, and every status code, content type,
header and body must be one the document gives for that call. Two of Schemathesis's checks are
tuned, for reasons the document states: a schema-valid request may still be refused (a category
that does not exist, a slug that differs from the URL's), and a batch answers 200 with its
schema-breaking members rejected one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from feedsvc.ingest import records
from feedsvc.web import api, listing, openapi, preconditions
from feedsvc.web.openapi import ARTICLE_EXAMPLE, document

from tests.helpers.app import TOKENS, article, category, load
from tests.helpers.live import LiveApp

# Development tools (requirements-dev.txt): CI installs them, and fails on any skip.
schemathesis = pytest.importorskip("schemathesis", reason="pip install -r requirements-dev.txt")
hypothesis = pytest.importorskip("hypothesis", reason="pip install -r requirements-dev.txt")

MAX_EXAMPLES = 25  # per operation: the whole run stays within about a minute per store
LIVE = LiveApp()
config = schemathesis.Config.from_dict(
    {
        "auth": {"openapi": {"bearer": {"bearer": TOKENS[0]}}},
        "generation": {"max-examples": MAX_EXAMPLES},
        "checks": {
            "positive_data_acceptance": {"enabled": False},
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 404, 405, 409, 412, 413, 415, 422],
            },
        },
        "operations": [
            {
                "include-operation-id": "postArticles",
                "checks": {"negative_data_rejection": {"enabled": False}},
            }
        ],
    }
)
schema = schemathesis.openapi.from_dict(document("http://feeds.test"), config=config)
schema.app = LIVE


@schemathesis.python.constants
def feedsvc_literals() -> object:
    """Values worth trying, from the code that answers (slugs, ids, field names, messages)."""
    return [api, listing, openapi, preconditions, records]


@pytest.fixture
def live_app(app: Flask) -> Iterator[Flask]:
    """The test's app, with the categories and articles the document's examples name."""
    load(
        app,
        [category("thoi-su", "Thời sự"), category("quoc-phong", "Quốc phòng")],
        [{"id": "bp-2026-1119-lungcu", **ARTICLE_EXAMPLE}, article("bp-1", "quoc-phong")],
    )
    LIVE.app = app
    yield app
    LIVE.app = None


@schema.parametrize()
@hypothesis.settings(
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture], deadline=None
)
def test_api_matches_its_document(case: Any, live_app: Flask) -> None:
    case.call_and_validate()
