"""A Zalo OA app's access token, renewed with its single-use refresh token (OAuth v4).

Zalo's refresh token works once: a renewal answers a new access token *and* a new refresh
token, and the old one is spent. So the new pair is committed to ``relay_zalo_tokens`` before
the access token is used, and a mark (``refreshing_since``) is committed before the call and
cleared with its result. The one window left is a crash (or a lost answer) between Zalo
spending the old token and the commit of the new pair, a few milliseconds: the next renewal
presents the spent token, Zalo refuses it, and the destination pauses with a log line that
says how to give the relay a new refresh token (its stories wait in the outbox; nothing else
stops). A new token in the settings (``refresh_token_file`` / ``_env``, read again each
minute) replaces the stored pair: its digest differs from the one recorded.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from feedsvc.clock import Clock
from feedsvc.relay import client
from feedsvc.relay.credentials import Secret
from feedsvc.store.db import Database
from feedsvc.store.models import RelayZaloToken

log = logging.getLogger(__name__)
EARLY = timedelta(minutes=10)  # renew this long before the access token runs out
OAUTH_PATH = "/v4/oa/access_token"


class TokenLockout(Exception):
    """Zalo refused the refresh token (or the app's id or secret key): a person must act;
    the message says what to do."""


class TokenUnavailable(Exception):
    """No token now (Zalo's OAuth server did not answer, or failed): try again later."""


@dataclass(frozen=True)
class Pair:
    access_token: str | None
    refresh_token: str
    expires_at: datetime | None
    refreshing_since: datetime | None


def load_pair(session: Session, app_id: str) -> tuple[Pair, str] | None:
    """The stored pair of an app and the digest of its seed, or None."""
    row = session.get(RelayZaloToken, app_id)
    if row is None:
        return None
    pair = Pair(row.access_token, row.refresh_token, row.expires_at, row.refreshing_since)
    return pair, row.seed_digest


def seed_pair(session: Session, app_id: str, pair: Pair, digest: str, now: datetime) -> None:
    """Store the pair the settings give (a first start, or an operator's new token)."""
    row = session.get(RelayZaloToken, app_id)
    if row is None:
        row = RelayZaloToken(app_id=app_id)
        session.add(row)
    row.access_token, row.refresh_token = pair.access_token, pair.refresh_token
    row.expires_at, row.refreshing_since = pair.expires_at, None
    row.seed_digest, row.updated_at = digest, now


def mark_refreshing(session: Session, app_id: str, now: datetime) -> None:
    """Written (committed) before the renewal call: a crash after it is recognised."""
    session.execute(
        update(RelayZaloToken)
        .where(RelayZaloToken.app_id == app_id)
        .values(refreshing_since=now, updated_at=now)
    )


def store_renewed(
    session: Session, app_id: str, access: str, refresh: str, expires_at: datetime, now: datetime
) -> None:
    """The renewal's new pair, replacing the spent one."""
    session.execute(
        update(RelayZaloToken)
        .where(RelayZaloToken.app_id == app_id)
        .values(
            access_token=access,
            refresh_token=refresh,
            expires_at=expires_at,
            refreshing_since=None,
            updated_at=now,
        )
    )


class TokenKeeper:
    """The access token of one app, shared by every destination of that app."""

    def __init__(
        self,
        app_id: str,
        secret_key: Secret,
        refresh_seed: Secret,
        access_seed: Secret | None,
        oauth_base: str,
        db: Database,
        clock: Clock,
        timeout: float,
    ) -> None:
        self.app_id, self.secret_key = app_id, secret_key
        self.refresh_seed, self.access_seed = refresh_seed, access_seed
        self.url = oauth_base + OAUTH_PATH
        self.db, self.clock, self.timeout = db, clock, timeout
        self.lock = threading.Lock()

    def current(self) -> str:
        """An access token believed valid (renewed first when it runs out soon)."""
        with self.lock:
            pair = self._pair()
            now = self.clock.now()
            fresh = pair.expires_at is None or pair.expires_at > now + EARLY
            if pair.access_token and fresh and pair.refreshing_since is None:
                return pair.access_token
            return self._renew(pair)

    def renew(self, refused: str) -> str:
        """A new access token, Zalo having refused ``refused`` (invalid or expired)."""
        with self.lock:
            pair = self._pair()
            if pair.access_token and pair.access_token != refused:
                return pair.access_token  # another destination of the app renewed it already
            return self._renew(pair)

    def _pair(self) -> Pair:
        """The stored pair, after taking the settings' refresh token when it is new."""
        seed = self.refresh_seed.read()
        digest = hashlib.sha256(seed.encode()).hexdigest()
        with self.db.writing() as session:
            stored = load_pair(session, self.app_id)
            if stored is not None and stored[1] == digest:
                return stored[0]
            access = self.access_seed.read() if self.access_seed is not None else None
            # Without an access token in the settings, the first send renews at once.
            pair = Pair(access, seed, None, None)
            seed_pair(session, self.app_id, pair, digest, self.clock.now())
        log.info("relay: Zalo app %s: took the refresh token from the settings", self.app_id)
        return pair

    def _renew(self, pair: Pair) -> str:
        if pair.refreshing_since is not None:
            log.warning(
                "relay: Zalo app %s: a renewal begun at %s never stored its answer (the relay "
                "stopped, or the answer was lost); trying the stored refresh token again",
                self.app_id,
                pair.refreshing_since.isoformat(timespec="seconds"),
            )
        with self.db.writing() as session:
            mark_refreshing(session, self.app_id, self.clock.now())
        form = {
            "refresh_token": pair.refresh_token,
            "app_id": self.app_id,
            "grant_type": "refresh_token",
        }
        headers = {"secret_key": self.secret_key.read()}
        try:
            answer = client.post_form(self.url, form, self.timeout, headers)
        except client.Unreachable as exc:
            raise TokenUnavailable(f"Zalo OAuth did not answer: {exc}") from None
        data = answer.json()
        access, refresh = data.get("access_token"), data.get("refresh_token")
        if answer.status == 200 and isinstance(access, str) and isinstance(refresh, str):
            seconds = int(str(data.get("expires_in", "3600")) or 3600)
            now = self.clock.now()
            with self.db.writing() as session:
                store_renewed(
                    session, self.app_id, access, refresh, now + timedelta(seconds=seconds), now
                )
            log.info("relay: Zalo app %s: access token renewed (%d s)", self.app_id, seconds)
            return access
        if answer.status >= 500:
            raise TokenUnavailable(f"Zalo OAuth answered {answer.status}")
        code = data.get("error", answer.status)
        name = str(data.get("error_name") or data.get("error_description") or "")[:200]
        raise TokenLockout(
            f"Zalo refused to renew the access token of app {self.app_id} (error {code}: "
            f"{name}). If app_id and secret_key are right, the stored refresh token is spent "
            "or expired (a renewal whose answer was lost spends it too). Make a new one "
            "(Zalo for Developers > your app > Official Account > authorise the OA again, or "
            "the API Explorer), write it to this destination's refresh_token_file (or "
            "refresh_token_env, then restart): the relay takes it within a minute and sends "
            "what waited"
        )
