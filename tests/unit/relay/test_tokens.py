"""The Zalo token keeper against a local OAuth v4 server: the single-use refresh token is
stored before the new access token is used; a lost renewal is recognised and told."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedsvc.clock import Clock
from feedsvc.relay.credentials import Secret
from feedsvc.relay.tokens import TokenKeeper, TokenLockout, TokenUnavailable, load_pair
from feedsvc.store.db import Database

from tests.helpers.chat_apis import FakeZalo


@pytest.fixture
def zalo() -> Iterator[FakeZalo]:
    server = FakeZalo("42", "the-secret-key")
    yield server
    server.close()


def keeper(
    zalo: FakeZalo, db: Database, tmp_path: Path, secret: str = "the-secret-key"
) -> TokenKeeper:
    refresh = tmp_path / "refresh"
    if not refresh.exists():
        refresh.write_text(zalo.refresh_token)
    key = tmp_path / "key"
    key.write_text(secret)
    return TokenKeeper(
        "42",
        Secret("key", path=str(key)),
        Secret("refresh", path=str(refresh)),
        None,
        zalo.base,
        db,
        Clock(),
        timeout=2,
    )


def stored(db: Database) -> tuple[str | None, str]:
    with db.reading() as session:
        found = load_pair(session, "42")
    assert found is not None
    return found[0].access_token, found[0].refresh_token


def test_renews_once_and_keeps_the_new_pair(zalo: FakeZalo, db: Database, tmp_path: Path) -> None:
    tokens = keeper(zalo, db, tmp_path)
    first = tokens.current()
    assert first == zalo.access_token and zalo.refreshes == 1
    assert stored(db) == (zalo.access_token, zalo.refresh_token)
    assert tokens.current() == first and zalo.refreshes == 1  # valid: no renewal
    # A second keeper (the relay restarted) uses the stored pair, not the spent seed.
    assert keeper(zalo, db, tmp_path).current() == first and zalo.refreshes == 1


def test_a_refused_access_token_is_renewed_once_for_every_destination(
    zalo: FakeZalo, db: Database, tmp_path: Path
) -> None:
    tokens = keeper(zalo, db, tmp_path)
    old = tokens.current()
    zalo.expire_access()
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(tokens.renew(old))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and results[0] == zalo.access_token
    assert zalo.refreshes == 2


def test_a_lost_renewal_is_told_and_an_operators_new_token_is_taken(
    zalo: FakeZalo, db: Database, tmp_path: Path
) -> None:
    tokens = keeper(zalo, db, tmp_path)
    zalo.hold_refresh.set()
    worker = threading.Thread(target=lambda: pytest.raises(TokenUnavailable, tokens.current))
    worker.start()
    assert zalo.refresh_held.wait(5)
    zalo.hold_refresh.clear()
    zalo.release.set()
    worker.join()  # the answer never came: the relay "crashed" after Zalo spent the token
    with db.reading() as session:
        pair = load_pair(session, "42")
    assert pair is not None and pair[0].refreshing_since is not None
    restarted = keeper(zalo, db, tmp_path)
    with pytest.raises(TokenLockout, match="refresh_token_file"):
        restarted.current()
    (tmp_path / "refresh").write_text(zalo.issue_refresh_token())
    assert restarted.current() == zalo.access_token
    assert stored(db) == (zalo.access_token, zalo.refresh_token)


def test_a_wrong_secret_key_is_told(zalo: FakeZalo, db: Database, tmp_path: Path) -> None:
    with pytest.raises(TokenLockout, match="app_id and secret_key"):
        keeper(zalo, db, tmp_path, secret="wrong").current()
