"""``make run``: one development-friendly process that serves and regenerates.

Werkzeug's threaded server on FEEDSVC_BIND, with the scheduler inside (FEEDSVC_SCHEDULER=on).
For production, ``make serve`` (feedsvc.serve) runs granian workers and a separate scheduler.
"""

from __future__ import annotations

import logging

from werkzeug.serving import WSGIRequestHandler, run_simple

from feedsvc import create_app, services_of
from feedsvc.ops.metrics_listener import start_listener

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
    # /metrics on its own address, when FEEDSVC_METRICS_BIND asks for one (this process is
    # the whole service).
    listener = start_listener(services.settings.metrics_bind, services.metrics.exposition)
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
        if listener is not None:
            listener.stop()
        services.shutdown()


if __name__ == "__main__":
    main()
