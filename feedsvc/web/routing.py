"""Routing without URLs built from the request: every URL we send comes from FEEDSVC_BASE_URL.

Werkzeug's router answers ``/static//site.css`` (merge_slashes) and ``/page`` for a rule
``/page/`` (strict_slashes) with a ``308`` whose Location it builds from the request's ``Host``:
``Host: evil.example`` gave ``Location: http://evil.example/static/site.css``, which a shared
cache may keep and hand to everyone (issue 13, finding 10). Here the router makes up no
redirects, and any redirect a rule still asks for is rebuilt on FEEDSVC_BASE_URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, RequestRedirect

from feedsvc import current_services
from feedsvc.web.errors import app_error


class NoRedirectMap(Map):
    """Werkzeug's URL map without the redirects it makes up: ``/static//site.css`` is not
    ``/static/site.css`` (no merge_slashes; a 404), and a rule's defaults are not redirected to.

    strict_slashes stays on, so ``/healthz/`` is a 404 too; its one redirect (``/x`` to a rule
    ``/x/``, and no rule of ours ends with a slash but ``/``) is rebuilt on FEEDSVC_BASE_URL by
    :func:`public_location`. Werkzeug itself drops the leading slashes of a path before matching,
    so ``//healthz`` is ``/healthz``: a match, not a redirect.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(merge_slashes=False, redirect_defaults=False)
        super().__init__(*args, **kwargs)


class FeedsvcFlask(Flask):
    """Flask with :class:`NoRedirectMap` (set on the class, so the static route Flask adds while
    it is constructed has it too), and the router's redirects rebuilt on FEEDSVC_BASE_URL."""

    url_map_class = NoRedirectMap

    def handle_http_exception(self, e: HTTPException) -> HTTPException | ResponseReturnValue:
        """Flask answers a router's redirect with the exception itself (no error handler sees
        it), its Location built from the request: move that Location onto the base URL."""
        if isinstance(e, RequestRedirect):
            base_url = current_services().settings.base_url
            location = public_location(e.new_url, request.script_root, base_url)
            return app_error(e.code, f"{e.code} {e.name}", {"Location": location})
        return super().handle_http_exception(e)


def public_location(new_url: str, script_root: str, base_url: str) -> str:
    """A redirect target made by the router from the request, moved onto ``base_url``.

    Only the path and query below the app's mount point are kept: scheme, host and port are
    FEEDSVC_BASE_URL's, whatever the request said.
    """
    parts = urlsplit(new_url)
    path = parts.path
    if script_root and path.startswith(script_root):
        path = path[len(script_root) :]
    # One leading slash: "//x" after the base is still a path, but a lax client may read a
    # host into it.
    path = "/" + path.lstrip("/")
    return base_url + path + (f"?{parts.query}" if parts.query else "")
