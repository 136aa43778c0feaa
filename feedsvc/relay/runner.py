"""``feedsvc relay``: wires the relay together and runs it until told to stop.

One relay sends at a time: it holds the ``relay`` lease in the database (renewed every few
seconds). The holder is the host and the callback port, so a relay restarted on the same
machine takes over at once (its port keeps a second one on that machine from starting), and a
relay on another machine waits until the lease runs out.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import inspect

from feedsvc import store
from feedsvc.clock import Clock
from feedsvc.config import ConfigError, Settings
from feedsvc.relay import destinations, outbox
from feedsvc.relay.callback import WebSubCallback
from feedsvc.relay.config import RelayConfig, load_relay_config, relay_table
from feedsvc.relay.follower import Follower, Router
from feedsvc.relay.sender import DestinationWorker
from feedsvc.store.db import DB_UNAVAILABLE, Database

log = logging.getLogger(__name__)
LEASE = "relay"
LEASE_SECONDS = 20
RENEW_SECONDS = 5.0
SECRET_KEY = "relay_websub_secret"


def load(settings: Settings, environ: Mapping[str, str]) -> RelayConfig:
    """The relay's configuration, checked (ConfigError names what is wrong)."""
    return load_relay_config(relay_table(environ), environ, settings.base_url)


def describe(config: RelayConfig) -> str:
    """What the relay would do, for ``feedsvc relay --check`` (no secret: only where each
    comes from)."""
    if config.listen is not None:
        host, port = config.listen
        push = f"push: callback {config.callback_url} (listening on {host}:{port})"
    else:
        push = f"push: none (polling every {config.poll_seconds:g} s)"
    lines = [f"feeds: {', '.join(config.feed_keys)} from {config.service_url}", push]
    for d in config.destinations:
        where = ", ".join(f"{name} from {s.where.split('] ')[-1]}" for name, s in d.secrets.items())
        target = d.options.get("chat_id") or d.options.get("user_id") or d.options.get("group_id")
        target = target or d.options.get("url")
        lines.append(
            f"{d.name}: {d.kind} -> {target}; categories {', '.join(d.feed_keys)}; "
            f"keywords {', '.join(d.keywords) or 'none'}; pace {d.pace_seconds:g} s; {where}"
        )
    return "\n".join(lines)


def run(config: RelayConfig, db: Database, clock: Clock, stop: threading.Event) -> int:
    """Run until ``stop`` is set; the exit status."""
    if not inspect(db.engine).has_table("relay_outbox"):
        raise ConfigError("the database has no relay tables yet: run `feedsvc init-db` first")
    callback_secret = _websub_secret(db)
    callback: WebSubCallback | None = None
    follower: Follower | None = None
    if config.listen is not None:
        try:
            callback = WebSubCallback(
                config.listen, callback_secret, lambda k, b: follower_of(k, b)
            )
        except OSError as exc:
            raise ConfigError(f"[relay] listen: cannot listen on {config.listen}: {exc}") from None
    holder = f"{socket.gethostname()}:{config.listen[1] if config.listen else 'poll'}"
    if not _wait_for_lease(db, clock, holder, stop):
        return 0
    for destination, story in _recover(db, clock):
        log.warning(
            "relay: %s: %s was being sent when the relay stopped; sending it again (the chat "
            "may show it twice)",
            destination,
            story,
        )
    with db.writing() as session:
        window = timedelta(seconds=config.max_age_seconds) + timedelta(days=1)
        outbox.prune(session, clock.now() - window)
    keepers: dict[str, Any] = {}  # one Zalo token keeper per app, shared by its destinations
    workers = {
        d.name: DestinationWorker(
            d.name,
            destinations.build(d, db, clock, config.timeout_seconds, keepers),
            db,
            clock,
            pace_seconds=d.pace_seconds,
            backoff_seconds=config.backoff_seconds,
            max_attempts=config.max_attempts,
            stop=stop,
        )
        for d in config.destinations
    }
    router = Router(config, db, clock, lambda name: workers[name].wake.set())
    follower = Follower(config, router, callback, callback_secret, stop)

    def follower_of(key: str, body: bytes) -> None:
        assert follower is not None
        follower.delivered(key, body)

    for worker in workers.values():
        worker.start()
    if callback is not None:
        callback.start()
    follower.start()
    names = ", ".join(f"{d.name} ({d.kind})" for d in config.destinations)
    how = f"callback {config.callback_url}" if callback else "polling only"
    log.info("relay: following %s for %s; %s", ", ".join(config.feed_keys), names, how)
    try:
        status = _hold_lease(db, clock, holder, stop)
    except KeyboardInterrupt:  # Ctrl-C: stop as for SIGTERM (the sends in progress finish)
        status = 0
    stop.set()
    follower.join(10)
    for worker in workers.values():
        worker.join(30)  # a send in progress finishes and is recorded
    if callback is not None:
        callback.close()
    try:
        with db.writing() as session:
            store.release_lease(session, LEASE, holder)
    except DB_UNAVAILABLE:
        pass
    log.info("relay: stopped")
    return status


def _websub_secret(db: Database) -> str:
    """The secret the relay subscribes with: made once, kept in the database, so deliveries
    signed before a restart still verify after it."""
    with db.writing() as session:
        secret = store.get_meta(session, SECRET_KEY)
        if secret is None:
            secret = secrets.token_hex(32)
            store.set_meta(session, SECRET_KEY, secret)
    return secret


def _recover(db: Database, clock: Clock) -> list[tuple[str, str]]:
    with db.writing() as session:
        return outbox.recover_in_flight(session, clock.now())


def _take(db: Database, clock: Clock, holder: str) -> bool:
    now = clock.now()
    with db.writing() as session:
        return store.acquire_lease(
            session, LEASE, holder, now, now + timedelta(seconds=LEASE_SECONDS)
        )


def _wait_for_lease(db: Database, clock: Clock, holder: str, stop: threading.Event) -> bool:
    """Take the lease, waiting while another relay holds it; False when stopped first."""
    told = False
    while not stop.is_set():
        if _take(db, clock, holder):
            return True
        if not told:
            log.warning("relay: another relay holds the lease; waiting for it to stop")
            told = True
        stop.wait(RENEW_SECONDS)
    return False


def _hold_lease(db: Database, clock: Clock, holder: str, stop: threading.Event) -> int:
    """Renew the lease until stopped (0), or until another relay took it over (1)."""
    failures = 0
    while not stop.wait(RENEW_SECONDS):
        try:
            if not _take(db, clock, holder):
                log.error("relay: another relay took the lease over; stopping this one")
                return 1
            failures = 0
        except DB_UNAVAILABLE as exc:
            failures += 1
            if failures * RENEW_SECONDS >= LEASE_SECONDS:
                log.error("relay: the database is unreachable (%s); stopping", exc)
                return 1
    return 0
