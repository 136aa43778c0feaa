"""Issue 13, finding 9: secrets in logs.

The attack: read the logs. A callback's path and query are where subscribers put a
capability (WebSub suggests an unguessable callback URL; the hub's own safety notes advise a
secret path), and the hub logged them on every request, verification and failed delivery —
and logs travel further than the service. Now a log line names a callback by its scheme, host
and port and a short hash of the whole URL, never its path or query. Every way a callback
reaches the log is driven here, and no record may hold the path's or the query's secret.
"""

from __future__ import annotations

import http.server
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask

from feedsvc.websub import store as hub_store
from feedsvc.websub.client import Caller, describe_url
from feedsvc.websub.delivery import Distributor, SnapshotCache
from feedsvc.websub.hub import verify_intent
from feedsvc.websub.safety import AddressPolicy

from tests.helpers.app import services
from tests.helpers.callbacks import Silent
from tests.helpers.servers import QuietHandler

PATH_SECRET = "p4th-s3cr3t"
QUERY_SECRET = "qu3ry-t0k3n"
TOPIC = "http://feeds.test/feeds/thoi-su.json"


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {
        "FEEDSVC_WEBSUB_HUB": "self",
        "FEEDSVC_WEBSUB_MAX_ATTEMPTS": "3",
        "FEEDSVC_WEBSUB_VERIFY_TIMEOUT_SECONDS": "0.3",
        "FEEDSVC_WEBSUB_MAX_PENDING_PER_HOST": "1",
    }


class Answers(QuietHandler):
    """Answers each request with the status its path asks for: ``/404/…``, ``/500/…``."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        self.reply(int(self.path.split("/")[1]))

    do_GET = do_POST = _answer


@pytest.fixture
def answers() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent() -> Iterator[Silent]:
    listener = Silent()
    yield listener
    listener.close()


def secret_url(port: int, status: int | str, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}/{status}/{PATH_SECRET}/cb?token={QUERY_SECRET}&x=1"


def _jobs(app: Flask, callbacks: list[str], active: bool = False) -> list[hub_store.VerifyJob]:
    db, now = services(app).db, services(app).clock.now()
    with db.writing() as session:
        for callback in callbacks:
            intent = hub_store.Intent("subscribe", TOPIC, "thoi-su", "json", callback, "k", 600)
            hub_store.record_intent(session, intent, now)
        jobs = hub_store.claim_verifications(session, now, now + timedelta(seconds=60), 100)
    if active:
        jobs = [hub_store.VerifyJob(**{**vars(job), "active": True}) for job in jobs]
    return jobs


def test_no_log_line_holds_a_callback_path_or_query(
    newsroom: Flask, answers: int, silent: Silent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app, s = newsroom, services(newsroom)
    client = app.test_client()

    # The endpoint: an accepted request, and one refused by a limit (one waiting per host).
    form = {"hub.mode": "subscribe", "hub.topic": TOPIC}
    accepted = client.post("/websub", data={**form, "hub.callback": secret_url(1, 200, "a.test")})
    refused = client.post("/websub", data={**form, "hub.callback": secret_url(2, 200, "a.test")})
    assert (accepted.status_code, refused.status_code) == (202, 429)

    # Verification: refused address, not confirmed (404, a 500 to a stranger), a retry of a
    # known subscriber, one short try that timed out, a URL http.client cannot send.
    caller = Caller(AddressPolicy(True), 0.5)
    strict = Caller(AddressPolicy(False), 0.5)
    callbacks = [
        secret_url(answers, 404),
        secret_url(answers, 500),
        secret_url(silent.port, "never"),
        secret_url(answers, 200).replace("/cb", "/c b"),
    ]
    for job in _jobs(app, callbacks):
        verify_intent(job, caller, s.db, s.settings, s.clock)
    for job in _jobs(app, [secret_url(answers, 503)], active=True):
        verify_intent(job, caller, s.db, s.settings, s.clock)
    for job in _jobs(app, [secret_url(answers, 200, "localhost")]):
        verify_intent(job, strict, s.db, s.settings, s.clock)

    # Deliveries: failed with a retry, dropped, and ended by 410.
    distributor = Distributor(s.db, s.settings, s.clock, caller, SnapshotCache(s.db))
    for status, attempts in ((500, 0), (500, 2), (410, 0)):
        url = secret_url(answers, status)
        job = hub_store.DeliveryJob(1, 1, attempts, url, TOPIC, "thoi-su", "json", None)
        distributor.deliver(job)

    lines = [r.getMessage() + (str(r.exc_info[1]) if r.exc_info else "") for r in caplog.records]
    hub_lines = [line for line in lines if "websub" in line]
    assert len(hub_lines) >= 10, hub_lines
    for line in lines:
        assert PATH_SECRET not in line and QUERY_SECRET not in line, line
    assert any(f"http://127.0.0.1:{answers} #" in line for line in hub_lines)


def test_callbacks_of_one_host_are_told_apart_by_a_short_hash() -> None:
    one = describe_url("https://bot.example/cb/one?k=1")
    other = describe_url("https://bot.example/cb/two?k=1")
    assert one.startswith("https://bot.example #") and other.startswith("https://bot.example #")
    assert one != other and len(one.split("#")[1]) == 8
    assert describe_url("https://[2001:DB8::1]:8443/x").startswith("https://[2001:db8::1]:8443 #")
