"""``POST /websub``: the built-in hub's subscription endpoint (W3C WebSub §5.1), registered only
when FEEDSVC_WEBSUB_HUB=self.

The answer never depends on verification (§5.1.2): a valid request is stored as pending and
answered ``202`` at once; the hub's worker then verifies intent with the callback. Errors in the
request get ``400`` with a plain-text reason, as §5.1.2 asks.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from feedsvc import current_services
from feedsvc.services import Services
from feedsvc.web.errors import text_response
from feedsvc.websub import BuiltInHub
from feedsvc.websub import store as hub_store
from feedsvc.websub.client import describe_url
from feedsvc.websub.hub import HubRequestError, parse_request

bp = Blueprint("websub", __name__)

log = logging.getLogger(__name__)

FORM_TYPE = "application/x-www-form-urlencoded"


def _hub() -> tuple[Services, BuiltInHub]:
    services = current_services()
    hub = services.websub
    assert isinstance(hub, BuiltInHub), "the /websub blueprint needs FEEDSVC_WEBSUB_HUB=self"
    return services, hub


@bp.route("/websub", methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"])
def websub() -> Response:
    """Take a subscribe or unsubscribe request; 202 when it will be verified."""
    if request.method != "POST":
        return text_response(
            "POST a form (hub.mode, hub.topic, hub.callback) to subscribe; see W3C WebSub §5.1",
            405,
            {"Allow": "POST"},
        )
    if request.mimetype != FORM_TYPE:
        return text_response(f"send the request as {FORM_TYPE} (WebSub §5.1)", 400)
    services, hub = _hub()
    form = {key: request.form.getlist(key) for key in request.form}
    try:
        intent = parse_request(form, services.settings, hub.feed_exists)
    except HubRequestError as exc:
        return text_response(str(exc), 400)
    with services.db.writing() as session:
        known = hub_store.record_intent(session, intent, services.clock.now())
    hub.wake()
    log.info("websub: %s %s for %s", intent.mode, describe_url(intent.callback), intent.topic)
    if not known:
        return text_response("no such subscription; nothing to unsubscribe", 202)
    return text_response(
        f"{intent.mode} request accepted; the hub now verifies it with the callback", 202
    )
