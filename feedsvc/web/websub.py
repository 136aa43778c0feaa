"""``POST /websub``: the built-in hub's subscription endpoint (W3C WebSub §5.1), registered only
when FEEDSVC_WEBSUB_HUB=self.

The answer never depends on verification (§5.1.2): a valid request is stored as pending and
answered ``202`` at once; the hub's worker then verifies intent with the callback. Errors in the
request get ``400`` with a plain-text reason, as §5.1.2 asks. Anyone may post here, so what a
request may cost is capped before anything else is done: its headers (``431``), the requests of
one client per minute (``429``), its body (``413``, decided before the body is read), and the
subscriptions and verifications the hub holds (``429``, see :mod:`feedsvc.websub.limits`).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Request, Response, request
from werkzeug.formparser import FormDataParser

from feedsvc import current_services
from feedsvc.http import client as http_client
from feedsvc.services import Services
from feedsvc.web.errors import text_response
from feedsvc.websub import BuiltInHub
from feedsvc.websub import store as hub_store
from feedsvc.websub.client import describe_url
from feedsvc.websub.hub import HubRequestError, parse_request
from feedsvc.websub.limits import admission

bp = Blueprint("websub", __name__)

log = logging.getLogger(__name__)

FORM_TYPE = "application/x-www-form-urlencoded"
# A request is five short fields: hub.callback (at most 2000 characters, three times that when
# percent-encoded), hub.topic, hub.secret (under 200 bytes), hub.lease_seconds and hub.mode.
MAX_BODY_BYTES = 16 * 1024
MAX_HEADER_BYTES = 8 * 1024  # every request header, names and values (a subscriber sends few)


def client_address(req: Request) -> str:
    """The address the per-client limit counts: the client behind any trusted proxy
    (FEEDSVC_TRUSTED_PROXIES), else the peer of this connection."""
    return http_client.client_address(req.environ, current_services().settings.trusted_proxies)


def _hub() -> tuple[Services, BuiltInHub]:
    services = current_services()
    hub = services.websub
    assert isinstance(hub, BuiltInHub), "the /websub blueprint needs FEEDSVC_WEBSUB_HUB=self"
    return services, hub


def header_bytes(environ: Mapping[str, Any]) -> int:
    """The size of a request's headers as the WSGI server handed them over."""
    names = ("CONTENT_TYPE", "CONTENT_LENGTH")
    return sum(
        len(key) + len(str(value))
        for key, value in environ.items()
        if key.startswith("HTTP_") or key in names
    )


def read_form() -> dict[str, list[str]] | None:
    """The form fields, or None when the body is larger than MAX_BODY_BYTES.

    A Content-Length above the cap is refused before a byte of the body is read. A body
    without one (chunked) is read one byte past the cap at most, through a stream bounded by
    Flask's per-request ``max_content_length`` (smaller than any app-wide one), and parsed the
    way ``request.form`` would be.
    """
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        return None
    request.max_content_length = MAX_BODY_BYTES + 1
    body = _read_at_most(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return None
    parser = FormDataParser()
    _, form, _ = parser.parse(io.BytesIO(body), FORM_TYPE, len(body), request.mimetype_params)
    return {key: form.getlist(key) for key in form}


def _read_at_most(limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = request.stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


@bp.route("/websub", methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"])
def websub() -> Response:
    """Take a subscribe or unsubscribe request; 202 when it will be verified."""
    if request.method != "POST":
        return text_response(
            "POST a form (hub.mode, hub.topic, hub.callback) to subscribe; see W3C WebSub §5.1",
            405,
            {"Allow": "POST"},
        )
    if header_bytes(request.environ) > MAX_HEADER_BYTES:
        return text_response(f"the request headers exceed {MAX_HEADER_BYTES} bytes", 431)
    services, hub = _hub()
    wait = hub.limiter.check(client_address(request))
    if wait is not None:
        per_minute = services.settings.websub_requests_per_minute
        return text_response(
            f"more than {per_minute} requests a minute from your address "
            f"(FEEDSVC_WEBSUB_REQUESTS_PER_MINUTE); try again in {wait} s",
            429,
            {"Retry-After": str(wait)},
        )
    if request.mimetype != FORM_TYPE:
        return text_response(f"send the request as {FORM_TYPE} (WebSub §5.1)", 400)
    form = read_form()
    if form is None:
        return text_response(
            f"the body is larger than {MAX_BODY_BYTES} bytes; a WebSub request is a few short "
            "form fields",
            413,
        )
    try:
        intent = parse_request(form, services.settings, hub.feed_exists)
    except HubRequestError as exc:
        return text_response(str(exc), 400)
    return _record(services, hub, intent)


def _record(services: Services, hub: BuiltInHub, intent: hub_store.Intent) -> Response:
    """Store the request as pending, unless a limit of the hub refuses it (429)."""
    with services.db.writing() as session:
        refusal = admission(session, intent, services.settings)
        known = refusal is None and hub_store.record_intent(session, intent, services.clock.now())
    target = describe_url(intent.callback)
    if refusal is not None:
        log.info("websub: %s %s refused: %s", intent.mode, target, refusal.message)
        return text_response(refusal.message, 429, {"Retry-After": str(refusal.retry_after)})
    hub.wake()
    log.info("websub: %s %s for %s", intent.mode, target, intent.topic)
    if not known:
        return text_response("no such subscription; nothing to unsubscribe", 202)
    return text_response(
        f"{intent.mode} request accepted; the hub now verifies it with the callback", 202
    )
