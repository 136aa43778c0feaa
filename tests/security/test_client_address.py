"""Issue 13, Build: client addresses behind a proxy. Behind the shipped nginx every request comes
from 127.0.0.1, so a per-client limit keyed on the peer would throttle every reader at once; yet
anyone can write ``X-Forwarded-For``. The header is believed only from FEEDSVC_TRUSTED_PROXIES,
read from the right: a client can neither hide behind a made-up address nor frame another."""

from __future__ import annotations

import re

from feedsvc.config import load_settings
from feedsvc.http.client import client_address

from tests.helpers.paths import REPO

NGINX_SITE = REPO / "deploy" / "nginx" / "feedsvc.conf"
TRUSTED = load_settings({}).trusted_proxies  # the default: what the shipped nginx needs
ATTACKER = "203.0.113.66"
VICTIM = "198.51.100.7"


def test_a_direct_client_cannot_choose_its_address() -> None:
    for forged in (VICTIM, f"{VICTIM}, 127.0.0.1", "127.0.0.1", "::1", "10.0.0.1"):
        environ = {"REMOTE_ADDR": ATTACKER, "HTTP_X_FORWARDED_FOR": forged}
        assert client_address(environ, TRUSTED) == ATTACKER, forged


def test_behind_nginx_the_address_nginx_saw_is_the_client() -> None:
    # nginx appends the address it accepted the connection from ($proxy_add_x_forwarded_for);
    # whatever the client wrote stands to the left of it.
    for forged in ("", f"{VICTIM}, ", "127.0.0.1, ", "not-an-address, ", f"{VICTIM}, ::1, "):
        environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": forged + ATTACKER}
        assert client_address(environ, TRUSTED) == ATTACKER, forged
    # Readers behind nginx are told apart, not all lumped under 127.0.0.1.
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": VICTIM}
    assert client_address(environ, TRUSTED) == VICTIM


def test_the_shipped_nginx_sends_what_the_default_trusts() -> None:
    site = NGINX_SITE.read_text()
    assert re.search(r"proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for;", site)
    # nginx reaches the workers on the loopback address (deploy/README.md: 127.0.0.1:8000).
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": VICTIM}
    assert client_address(environ, TRUSTED) == VICTIM
    environ = {"REMOTE_ADDR": "::1", "HTTP_X_FORWARDED_FOR": VICTIM}
    assert client_address(environ, TRUSTED) == VICTIM
