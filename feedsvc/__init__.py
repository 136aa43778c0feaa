"""feedsvc: stores a newsroom's articles and publishes RSS 2.0, Atom 1.0 and JSON Feed 1.1 per
category, regenerated off the request path and served from snapshots with exact HTTP caching."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app
from werkzeug.http import http_date

from feedsvc.clock import Clock
from feedsvc.config import load_settings
from feedsvc.services import Services

# The key of the app's Services in ``app.extensions``: read only through services_of.
_EXTENSION = "feedsvc"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``test_config`` overrides FEEDSVC_* settings (as strings, like the
    environment) and other Flask config keys; ``CLOCK`` replaces the system clock."""
    overrides = dict(test_config or {})
    environ = dict(os.environ)
    environ.update({k: str(v) for k, v in overrides.items() if k.startswith("FEEDSVC_")})
    settings = load_settings(environ)
    clock: Clock = overrides.pop("CLOCK", None) or Clock()

    from feedsvc.web.routing import FeedsvcFlask

    app = FeedsvcFlask(__name__)
    app.config.update({k: v for k, v in overrides.items() if not k.startswith("FEEDSVC_")})
    app.config["FEEDSVC_SETTINGS"] = settings
    services = Services.create(settings, clock)
    services.check_tag_authority()
    app.extensions[_EXTENSION] = services

    from feedsvc import cli
    from feedsvc.ops.logs import configure_logging
    from feedsvc.render._common import ttl_minutes
    from feedsvc.web import api, ops, pages
    from feedsvc.web.bodycap import BodyCap
    from feedsvc.web.hotpath import FeedHotPath
    from feedsvc.web.stats import poll_guard

    configure_logging(settings.log_format, settings.log_level)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(ops.bp)
    if settings.metrics_token is not None:
        app.register_blueprint(ops.metrics_bp)
    if settings.stats_token is not None:
        from feedsvc.web import stats

        app.register_blueprint(stats.bp)
    if settings.websub_hub == "self":
        from feedsvc.web import websub

        app.register_blueprint(websub.bp)
    cli.register(app)
    app.after_request(_date_header)
    # Every body capped before it is read, whoever reads it (the hot path in front reads none).
    app.wsgi_app = BodyCap(app.wsgi_app, settings.max_body_bytes)  # type: ignore[method-assign]
    app.wsgi_app = FeedHotPath(  # type: ignore[method-assign]
        app.wsgi_app,
        services.registry,
        max_items=settings.feed_items,
        before_request=services.start_background,
        on_response=services.metrics.tally.on_response,
        record=services.stats.recorder.record if services.stats is not None else None,
        poll_guard=poll_guard(settings),
        ttl_minutes=ttl_minutes(settings.cache_max_age),
    )
    if settings.access_log:
        app.wsgi_app = ops.AccessLog(  # type: ignore[method-assign]
            app.wsgi_app, settings.trusted_proxies
        )
    return app


def _date_header(response: Response) -> Response:
    """Every response carries Date (RFC 9110 §6.6.1), whichever server runs the app."""
    if "Date" not in response.headers:
        response.headers["Date"] = http_date()
    return response


def services_of(app: Flask) -> Services:
    """The Services object of an app made by create_app."""
    services = app.extensions.get(_EXTENSION)
    if not isinstance(services, Services):
        raise RuntimeError(f"{app.name!r} has no feedsvc services: build it with create_app()")
    return services


def current_services() -> Services:
    """The Services of the app handling this request or CLI command (needs an app context)."""
    return services_of(current_app)
