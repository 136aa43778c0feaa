"""The editors' page: ``/stats`` (HTML with SVG charts) and ``/stats.json``, for the holder of
FEEDSVC_STATS_TOKEN only; registered only when that token is set (else both are 404).

A browser signs in once: the form POSTs the token to ``/stats/sign-in``, which sets a signed
session cookie (``Secure``, ``HttpOnly``, ``SameSite=Strict``, 12 hours) and sends the editor
back to the page; ``/stats/sign-out`` clears it. Scripts send ``Authorization: Bearer TOKEN``.
A token is never taken from a URL. The cookie is signed with a key derived from the token, so
changing the token signs every browser out. Every answer, the form and the errors included,
carries ``Cache-Control: no-store``: the shipped nginx only bypasses its cache for requests
with ``Authorization``, and these pages must never be stored for anyone else.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, Response, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from feedsvc import current_services
from feedsvc.config import Settings
from feedsvc.http.page_policy import origin
from feedsvc.stats import charts
from feedsvc.stats.polling import PollGuard
from feedsvc.stats.report import LONG_DAYS, SHORT_DAYS, Report, build_report, report_json
from feedsvc.store import client_days, feed_days
from feedsvc.web.auth import authenticate, challenge, misplaced_credentials, token_matches
from feedsvc.web.errors import NO_STORE, NOSNIFF, app_error, json_response

bp = Blueprint("stats", __name__)
log = logging.getLogger(__name__)

COOKIE = "feedsvc_stats"
SESSION_SECONDS = 12 * 3600
_SALT = "feedsvc stats session"
_FIXED_HEADERS = {
    "Cache-Control": NO_STORE,
    "X-Content-Type-Options": NOSNIFF,
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" with the
    # sign-in form, which _same_origin must refuse; nothing leaves for another origin either way.
    "Referrer-Policy": "same-origin",
}


def poll_guard(settings: Settings) -> PollGuard | None:
    """The hot path's polite-polling guard, or None when FEEDSVC_POLL_LIMIT is off."""
    if settings.poll_limit is None:
        return None
    return PollGuard(settings.poll_limit, settings.trusted_proxies, settings.poll_allow)


def _settings() -> Settings:
    return current_services().settings


def _token() -> str:
    token = _settings().stats_token
    assert token is not None  # the blueprint is registered only with a token
    return token


def _serializer() -> URLSafeTimedSerializer:
    # A key of its own, derived from the token: a new token signs every browser out.
    key = hmac.new(_token().encode(), _SALT.encode(), hashlib.sha256).hexdigest()
    return URLSafeTimedSerializer(key, salt=_SALT)


def _signed_in() -> bool:
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return False
    try:
        return bool(_serializer().loads(cookie, max_age=SESSION_SECONDS) == "editor")
    except BadSignature:
        return False


def _bearer() -> bool | None:
    """True: a bearer token that is FEEDSVC_STATS_TOKEN; False: another one; None: none."""
    failure = authenticate(request.headers.get("Authorization"), (_token(),))
    if failure is None:
        return True
    return None if failure.reason in ("missing", "other scheme") else False


def _headers(response: Response) -> Response:
    own = origin(_settings().base_url) or "'self'"
    response.headers.update(_FIXED_HEADERS)
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src {own}; img-src {own}; form-action {own}; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    return response


@bp.after_request
def no_store(response: Response) -> Response:
    """Every answer of these pages: never stored, never framed."""
    return _headers(response)


def _refused_in_url() -> Response | None:
    why = misplaced_credentials(request.query_string, "")
    if why is None:
        return None
    return app_error(400, f"400 Bad Request: {why}")


def _sign_in_form(status: int = 200, wrong: bool = False) -> Response:
    settings = _settings()
    html = render_template(
        "stats_signin.html",
        base_url=settings.base_url,
        site_title=settings.site_title,
        wrong=wrong,
    )
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def _report() -> Report:
    services = current_services()
    if services.stats is not None:
        services.stats.flush()  # this worker's latest hits, so the page is current
    today = services.clock.now().astimezone(services.settings.timezone).date()
    since = today - timedelta(days=LONG_DAYS - 1)
    with services.db.reading() as session:
        rows = feed_days(session, since), client_days(session, since)
    return build_report(*rows, today)


@bp.get("/stats")
def page() -> Response:
    """The page for a signed-in editor (or a bearer), else the sign-in form."""
    refused = _refused_in_url()
    if refused is not None:
        return refused
    bearer = _bearer()
    if bearer is False:
        return _unauthorized()
    if not bearer and not _signed_in():
        return _sign_in_form()
    report = _report()
    settings = _settings()
    top = report.feeds[:8]
    series = [(f.feed, f.series) for f in top]
    html = render_template(
        "stats.html",
        base_url=settings.base_url,
        site_title=settings.site_title,
        report=report,
        chart_30=charts.line_chart(
            f"Người theo dõi từng nguồn tin, {SHORT_DAYS} ngày", series, report.today, SHORT_DAYS
        ),
        chart_90=charts.line_chart(
            f"Người theo dõi từng nguồn tin, {LONG_DAYS} ngày", series, report.today, LONG_DAYS
        ),
        legend=[(f.feed, charts.PALETTE[i % len(charts.PALETTE)]) for i, f in enumerate(top)],
        families_chart=charts.bar_chart(
            f"Lượt tải theo nhóm ứng dụng, {SHORT_DAYS} ngày",
            [(row.family, row.requests) for row in report.families],
        ),
        aggregators_chart=charts.bar_chart(
            "Dịch vụ tổng hợp theo số người theo dõi",
            [(row.name, row.subscribers) for row in report.aggregators],
        ),
        signed_in=bearer is None,
    )
    return Response(html, content_type="text/html; charset=utf-8")


@bp.get("/stats.json")
def page_json() -> Response:
    """The same figures as JSON, for the bearer (or a signed-in browser)."""
    refused = _refused_in_url()
    if refused is not None:
        return refused
    bearer = _bearer()
    if not bearer and (bearer is False or not _signed_in()):
        return _unauthorized()
    return json_response(report_json(_report()), 200)


def _unauthorized() -> Response:
    return app_error(
        401,
        "401 Unauthorized: send FEEDSVC_STATS_TOKEN as 'Authorization: Bearer TOKEN', or sign "
        "in at /stats",
        {"WWW-Authenticate": challenge()},
    )


def _same_origin() -> bool:
    """A form POST from our own page: Origin (sent by every current browser on a POST) is the
    service's, or absent (an older client); never another site's (login CSRF)."""
    sent = request.headers.get("Origin")
    if sent is None:
        return True
    own = origin(_settings().base_url)
    return sent == own or sent == request.host_url.rstrip("/")


@bp.post("/stats/sign-in")
def sign_in() -> Response:
    """Check the form's token; on success set the session cookie and go to the page."""
    if not _same_origin():
        return app_error(403, "403 Forbidden: sign in from this service's own /stats page")
    presented = (request.form.get("token") or "").strip()
    if not presented.isascii() or not presented or not token_matches(presented, (_token(),)):
        log.info("stats: sign-in refused: wrong token")
        return _sign_in_form(401, wrong=True)
    response = Response(status=303, headers={"Location": f"{_settings().base_url}/stats"})
    response.set_cookie(
        COOKIE,
        _serializer().dumps("editor"),
        max_age=SESSION_SECONDS,
        path=_cookie_path(),
        secure=True,
        httponly=True,
        samesite="Strict",
    )
    return response


@bp.post("/stats/sign-out")
def sign_out() -> Response:
    """Clear the session cookie."""
    if not _same_origin():
        return app_error(403, "403 Forbidden: sign out from this service's own /stats page")
    response = Response(status=303, headers={"Location": f"{_settings().base_url}/stats"})
    response.delete_cookie(
        COOKIE, path=_cookie_path(), secure=True, httponly=True, samesite="Strict"
    )
    return response


def _cookie_path() -> str:
    return (urlsplit(_settings().base_url).path or "") + "/"
