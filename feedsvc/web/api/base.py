"""What every call of the ingest API shares: its blueprint, its error type, and reading a
request body (JSON only, size-capped).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from feedsvc import current_services
from feedsvc.ingest.records import FieldError
from feedsvc.ingest.strictjson import JSONError, loads_strict
from feedsvc.web.errors import PRIVATE, json_error

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# One logger for the whole API (its modules are one component to an operator).
log = logging.getLogger("feedsvc.web.api")


class ApiError(Exception):
    """An error response: status, a message saying what to fix, field details, headers."""

    def __init__(
        self,
        status: int,
        message: str,
        details: Iterable[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = list(details)
        self.headers = dict(headers or {})

    def response(self) -> Response:
        """The interface's error body: {"error": …, "details": [{"field", "message"}, …]}."""
        details = [d.to_json() for d in self.details]
        return json_error(self.status, self.message, details, self.headers)


# --- reading the body ---------------------------------------------------------------------------


def _check_content_type() -> None:
    """Accept JSON media types, or none; RFC 8259 §8.1: JSON text is UTF-8."""
    mimetype = request.mimetype
    is_json = mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )
    if mimetype and not is_json:
        raise ApiError(415, "send the body as JSON with 'Content-Type: application/json'")
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise ApiError(415, "JSON must be UTF-8 (RFC 8259 §8.1); drop the charset parameter")


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"the body is larger than {limit} bytes (FEEDSVC_MAX_BODY_BYTES); send fewer or "
        "smaller records per request",
    )


def read_body(limit: int) -> bytes:
    """The request body, refused with 413 above ``limit`` (FEEDSVC_MAX_BODY_BYTES) bytes.

    The app-wide cap (:mod:`feedsvc.web.bodycap`, at that same limit) does the counting: a
    larger Content-Length is refused before a byte is read, a chunked body at one byte past the
    limit; its refusal is answered here in the API's words.
    """
    try:
        return request.stream.read()
    except RequestEntityTooLarge:
        raise _too_large(limit) from None


def read_json(kind: type, example: str) -> Any:
    """The body parsed strictly as JSON; 400 unless it is a ``kind`` (dict or list)."""
    _check_content_type()
    body = read_body(current_services().settings.max_body_bytes)
    if not body.strip():
        raise ApiError(400, f"the body is empty; send {example}")
    try:
        value = loads_strict(body)
    except JSONError as exc:
        raise ApiError(400, f"the body is not acceptable JSON: {exc}") from None
    if not isinstance(value, kind):
        raise ApiError(400, f"the body must be {example}")
    return value


# --- small answers ------------------------------------------------------------------------------


def written(status: str) -> None:
    """Wake regeneration when a write changed something (an identical repeat changes nothing)."""
    if status != "unchanged":
        current_services().written()


def no_content() -> Response:
    """204, with no body and so no type (RFC 9110 §15.3.5)."""
    response = Response(status=204)
    del response.headers["Content-Type"]
    response.headers.update(PRIVATE)
    return response
