"""``POST /websub``: the built-in hub's subscription endpoint (W3C WebSub §5.1), registered only
when FEEDSVC_WEBSUB_HUB=self.

The answer never depends on verification (§5.1.2): a valid request is stored as pending and
answered ``202`` at once; the hub's worker then verifies intent with the callback. Errors in the
request get ``400`` with a plain-text reason, as §5.1.2 asks.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request

from feedsvc.services import Services
from feedsvc.websub import BuiltInHub
from feedsvc.websub import store as hub_store
from feedsvc.websub.client import describe_url
from feedsvc.websub.hub import HubRequestError, parse_request

bp = Blueprint("websub", __name__)

log = logging.getLogger(__name__)

FORM_TYPE = "application/x-www-form-urlencoded"
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _text(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(
        message + "\n",
        status=status,
        content_type="text/plain; charset=utf-8",
        headers={**_HEADERS, **(headers or {})},
    )


def _hub() -> tuple[Services, BuiltInHub]:
    services: Services = current_app.extensions["feedsvc"]
    hub = services.websub
    assert isinstance(hub, BuiltInHub), "the /websub blueprint needs FEEDSVC_WEBSUB_HUB=self"
    return services, hub


@bp.route("/websub", methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"])
def websub() -> Response:
    """Take a subscribe or unsubscribe request; 202 when it will be verified."""
    if request.method != "POST":
        return _text(
            "POST a form (hub.mode, hub.topic, hub.callback) to subscribe; see W3C WebSub §5.1",
            405,
            {"Allow": "POST"},
        )
    if request.mimetype != FORM_TYPE:
        return _text(f"send the request as {FORM_TYPE} (WebSub §5.1)", 400)
    services, hub = _hub()
    form = {key: request.form.getlist(key) for key in request.form}
    try:
        intent = parse_request(form, services.settings, hub.feed_exists)
    except HubRequestError as exc:
        return _text(str(exc), 400)
    with services.db.writing() as session:
        known = hub_store.record_intent(session, intent, services.clock.now())
    hub.wake()
    log.info("websub: %s %s for %s", intent.mode, describe_url(intent.callback), intent.topic)
    if not known:
        return _text("no such subscription; nothing to unsubscribe", 202)
    return _text(f"{intent.mode} request accepted; the hub now verifies it with the callback", 202)
