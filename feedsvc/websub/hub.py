"""The built-in hub's protocol rules (W3C WebSub Recommendation, 23 January 2018):
what a subscription request must hold (§5.1), the lease the hub grants, and the verification of
intent with a GET challenge to the callback (§5.3).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from urllib.parse import urlencode

from feedsvc.clock import Clock
from feedsvc.config import Settings
from feedsvc.render.feed import FORMATS
from feedsvc.store.db import Database
from feedsvc.websub import store
from feedsvc.websub.client import CallbackError, CallbackRefused, Caller, describe_url
from feedsvc.websub.safety import check_callback_url

log = logging.getLogger(__name__)

MAX_SECRET_BYTES = 199  # §5.1: hub.secret "MUST be less than 200 bytes in length"
SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
TOPIC_PATH = re.compile(rf"/feeds/(?P<key>{SLUG})\.(?P<fmt>{'|'.join(FORMATS)})")
PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class HubRequestError(ValueError):
    """A subscription request the hub refuses (400); the message says what to fix."""


def decode_unreserved(url: str) -> str:
    """Percent-decode unreserved characters only, as §5.1.1 requires of hubs (``%2D`` → ``-``)."""

    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in UNRESERVED else match.group(0).upper()

    return PERCENT.sub(one, url)


def parse_topic(topic: str, base_url: str) -> tuple[str, str]:
    """(feed key, format) of a topic this service publishes; HubRequestError otherwise."""
    topic = decode_unreserved(topic)
    example = f"{base_url}/feeds/thoi-su.rss"
    if not topic.startswith(f"{base_url}/"):
        raise HubRequestError(
            f"hub.topic must be a feed of this service, a URL like {example}; "
            "this hub publishes nothing else"
        )
    match = TOPIC_PATH.fullmatch(topic[len(base_url) :])
    if match is None:
        raise HubRequestError(
            f"hub.topic must be exactly a feed's self URL, like {example} (.rss, .atom or "
            '.json, no query): use the URL of the feed\'s Link rel="self" header'
        )
    return match.group("key"), match.group("fmt")


def _one(form: Mapping[str, Sequence[str]], name: str, required: bool = True) -> str | None:
    values = form.get(name) or []
    if len(values) > 1:
        raise HubRequestError(f"{name} is given {len(values)} times; send it once")
    if not values or not values[0]:
        if required:
            raise HubRequestError(f"{name} is missing (WebSub §5.1)")
        return None
    return values[0]


def grant_lease(requested: int | None, settings: Settings) -> int:
    """The lease the hub grants: the one asked for, at most the maximum; the default when none
    is asked (§5.1: hubs MAY choose; §5.3.1: never perpetual)."""
    wanted = settings.websub_lease_seconds if requested is None else requested
    return max(1, min(wanted, settings.websub_max_lease_seconds))


def _lease(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not re.fullmatch(r"[0-9]{1,10}", raw) or int(raw) == 0:
        raise HubRequestError(f"hub.lease_seconds must be a positive whole number, not {raw!r}")
    return int(raw)


def _secret(raw: str | None) -> str | None:
    if raw is not None and len(raw.encode()) > MAX_SECRET_BYTES:
        raise HubRequestError("hub.secret must be less than 200 bytes (WebSub §5.1)")
    return raw


def parse_request(
    form: Mapping[str, Sequence[str]], settings: Settings, feed_exists: Callable[[str], bool]
) -> store.Intent:
    """A valid subscribe or unsubscribe request, or HubRequestError saying what is wrong."""
    mode = _one(form, "hub.mode")
    if mode not in ("subscribe", "unsubscribe"):
        raise HubRequestError(
            f"hub.mode must be 'subscribe' or 'unsubscribe', not {mode!r}; this hub learns of "
            "changes to its feeds by itself, so it takes no 'publish'"
        )
    topic = decode_unreserved(_one(form, "hub.topic") or "")
    key, fmt = parse_topic(topic, settings.base_url)
    if not feed_exists(key):
        raise HubRequestError(f"hub.topic names the feed {key!r}, but there is no such category")
    callback = _one(form, "hub.callback") or ""
    try:
        check_callback_url(callback)
    except CallbackRefused as exc:
        raise HubRequestError(str(exc)) from None
    if mode == "unsubscribe":
        # §5.1: lease_seconds and secret "MUST be ignored by the hub" when unsubscribing.
        return store.Intent(mode, topic, key, fmt, callback)
    lease = grant_lease(_lease(_one(form, "hub.lease_seconds", required=False)), settings)
    secret = _secret(_one(form, "hub.secret", required=False))
    return store.Intent(mode, topic, key, fmt, callback, secret, lease)


def verification_url(callback: str, params: Mapping[str, str]) -> str:
    """The callback with the hub's parameters appended to its own query (§5.1.1)."""
    joiner = "&" if "?" in callback else "?"
    if callback.endswith(("?", "&")):
        joiner = ""
    return callback + joiner + urlencode(params)


def retry_delay(failures: int, base: float) -> float:
    """Exponential backoff: base, 2 × base, 4 × base, … after 1, 2, 3 failures; at most 1 h."""
    return min(base * 2.0 ** max(0, failures - 1), 3600.0)


def verify_intent(
    job: store.VerifyJob, caller: Caller, db: Database, settings: Settings, clock: Clock
) -> str:
    """Send the §5.3 GET challenge for a claimed request and record the outcome (its name)."""
    challenge = secrets.token_urlsafe(32)  # §8.2: random and single-use
    params = {"hub.mode": job.mode, "hub.topic": job.topic, "hub.challenge": challenge}
    lease = job.lease_seconds or settings.websub_lease_seconds
    if job.mode == "subscribe":
        params["hub.lease_seconds"] = str(lease)
    # §5.3: the lease is "measured from the time the verification request was made".
    started = clock.now()
    target = describe_url(job.callback)
    # A callback that never confirmed anything gets one short try: a stranger's request must
    # not hold a slot for long, nor make the hub call a host it chose again and again.
    short = None if job.active else settings.websub_verify_timeout_seconds
    try:
        reply = caller.request("GET", verification_url(job.callback, params), deadline=short)
    except CallbackRefused as exc:
        log.warning("websub: %s of %s refused: %s", job.mode, target, exc)
        return _refused(db, job)
    except CallbackError as exc:
        if not job.active:
            log.info("websub: %s of %s not verified (one try): %s", job.mode, target, exc)
            return _refused(db, job)
        return _retry_or_refuse(db, job, settings, clock, f"{target}: {exc}")
    if 200 <= reply.status < 300 and reply.body.strip() == challenge.encode():
        with db.writing() as session:
            if job.mode == "unsubscribe":
                done = store.unsubscribe(session, job)
            else:
                expires = started + timedelta(seconds=lease)
                done = store.activate(session, job, expires, lease, clock.now())
        log.info("websub: %s of %s to %s verified", job.mode, target, job.topic)
        return "verified" if done else "superseded"
    if job.active and (reply.status >= 500 or reply.status == 429):
        return _retry_or_refuse(db, job, settings, clock, f"{target}: HTTP {reply.status}")
    # §5.3.1: 404 (the subscriber says no), any other status, or a wrong echo: failed.
    why = "did not echo the challenge" if reply.status < 300 else f"answered {reply.status}"
    log.info("websub: %s of %s to %s not confirmed: %s", job.mode, target, job.topic, why)
    return _refused(db, job)


def _refused(db: Database, job: store.VerifyJob) -> str:
    with db.writing() as session:
        store.verification_refused(session, job)
    return "refused"


def _retry_or_refuse(
    db: Database, job: store.VerifyJob, settings: Settings, clock: Clock, error: str
) -> str:
    failures = job.attempts + 1
    if failures >= settings.websub_max_attempts:
        log.warning("websub: giving up verifying %s after %d tries: %s", job.mode, failures, error)
        return _refused(db, job)
    delay = retry_delay(failures, settings.websub_backoff_seconds)
    log.info("websub: verification failed (%s); retry in %.1f s", error, delay)
    with db.writing() as session:
        store.verification_later(session, job, clock.now() + timedelta(seconds=delay))
    return "retry"
