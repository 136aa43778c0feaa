"""``make run``: one development-friendly process that serves and regenerates.

Werkzeug's threaded server on FEEDSVC_BIND, with the scheduler inside (FEEDSVC_SCHEDULER=on).
For production, ``make serve`` (feedsvc.serve) runs granian workers and a separate scheduler.
"""

from __future__ import annotations

import logging

from werkzeug.serving import WSGIRequestHandler, run_simple

from feedsvc import create_app, services_of

log = logging.getLogger("feedsvc.devserver")


class RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without http.server's own Date header: the app sends Date itself
    (a second Date header would make every response invalid)."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())


def main() -> None:
    """Build the app, start background work, serve until Ctrl-C."""
    app = create_app()
    services = services_of(app)
    services.start_background()
    host, port = services.settings.bind
    log.info("serving on http://%s:%d (public URL %s)", host, port, services.settings.base_url)
    try:
        run_simple(
            host,
            port,
            app,
            threaded=True,
            use_reloader=False,
            use_debugger=False,
            request_handler=RequestHandler,
        )
    finally:
        services.shutdown()


if __name__ == "__main__":
    main()
