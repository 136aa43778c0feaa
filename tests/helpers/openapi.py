"""The API's OpenAPI document as the tests' JSON Schema validators: records, answers, errors."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.test import TestResponse

from feedsvc.web.openapi import document

BASE_URL = "http://feeds.test"  # the tests' app (tests/conftest.py)
DOCUMENT = document(BASE_URL)


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator of ``components/schemas/NAME``, its references resolved in the document."""
    resource = Resource.from_contents(DOCUMENT, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:openapi", resource)
    return Draft202012Validator(
        {"$ref": f"urn:openapi#/components/schemas/{name}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def errors_of(name: str, instance: object) -> list[str]:
    """Why ``instance`` is not a NAME (empty when it is one)."""
    return [error.message for error in validator(name).iter_errors(instance)]


def conforming(response: TestResponse, name: str) -> Any:
    """The JSON body of an API response, checked against schema NAME and the private headers."""
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = json.loads(response.data)
    assert errors_of(name, body) == [], body
    return body
