"""The hub's callback safety: address checks (IPv4, IPv6, embedded IPv4), one resolution per
request with every address checked, connections pinned to the checked address (Host and TLS
name kept), no redirects, and hard time limits — over real sockets on 127.0.0.1."""

from __future__ import annotations

import http.server
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from feedsvc.websub.client import CallbackError, Caller
from feedsvc.websub.safety import (
    AddressPolicy,
    CallbackRefused,
    address_category,
    check_callback_url,
    policy_for,
    resolve_checked,
)

from tests.helpers.paths import DATA
from tests.helpers.servers import QuietHandler

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("169.254.169.254", "link-local"),  # cloud metadata endpoints live here
    ("fe80::1", "link-local"),
    ("224.0.0.251", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "private"),  # reserved for future use (Python files it under private too)
    ("255.255.255.255", "private"),
    ("100.64.0.1", "not globally routable"),  # carrier-grade NAT
    ("192.0.2.10", "private"),  # documentation
    ("198.18.0.1", "private"),  # benchmarking
    ("fec0::1", "site-local"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("::ffff:10.1.2.3", "private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("::127.0.0.1", "loopback"),  # IPv4-compatible (deprecated)
    ("2002:7f00:1::1", "loopback"),  # 6to4 around 127.0.0.1
    ("2002:c0a8:101::1", "private"),  # 6to4 around 192.168.1.1
    ("64:ff9b::a00:1", "private"),  # NAT64 around 10.0.0.1
]

PUBLIC = ["8.8.8.8", "1.1.1.1", "203.113.131.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"]


@pytest.mark.parametrize(("raw", "category"), REFUSED)
def test_non_public_addresses_are_named(raw: str, category: str) -> None:
    reason = address_category(ipaddress.ip_address(raw))
    assert reason is not None and reason.startswith(category), reason


@pytest.mark.parametrize("raw", PUBLIC)
def test_public_addresses_pass(raw: str) -> None:
    assert address_category(ipaddress.ip_address(raw)) is None


@pytest.mark.parametrize(("raw", "_category"), REFUSED)
def test_private_policy_refuses_and_allow_private_accepts(raw: str, _category: str) -> None:
    address = ipaddress.ip_address(raw)
    refusal = AddressPolicy(allow_private=False).refusal(address, 8080)
    assert refusal is not None and "FEEDSVC_WEBSUB_ALLOW_PRIVATE=on" in refusal
    assert AddressPolicy(allow_private=True).refusal(address, 8080) is None


@pytest.mark.parametrize(
    ("raw", "port", "refused"),
    [
        ("127.0.0.1", 8000, True),  # this service itself
        ("::ffff:127.0.0.1", 8000, True),
        ("0.0.0.0", 8000, True),
        ("::1", 8000, True),
        ("127.0.0.1", 8001, False),  # a neighbour on another port (allowed: private is on)
        ("10.0.0.5", 8000, False),
    ],
)
def test_own_address_refused_even_with_private_allowed(raw: str, port: int, refused: bool) -> None:
    policy = policy_for(True, ("127.0.0.1", 8000))
    reason = policy.refusal(ipaddress.ip_address(raw), port)
    assert (reason is not None) is refused
    if refused:
        assert "this service itself" in str(reason)


def test_wildcard_bind_knows_this_hosts_addresses() -> None:
    policy = policy_for(True, ("0.0.0.0", 8000))
    mine = {str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None)}
    for raw in mine:
        assert policy.refusal(ipaddress.ip_address(raw.split("%")[0]), 8000) is not None, raw


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://sub.example/cb", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("http:///cb", "no host"),
        ("http://user:pw@sub.example/cb", "user:password@"),
        ("http://sub.example/cb#frag", "#fragment"),
        ("http://sub.example:99999/cb", "not a valid URL"),
        ("http://[::1/cb", "not a valid URL"),
        ("http://sub.example/" + "x" * 2000, "longer than"),
    ],
)
def test_bad_callback_urls(url: str, message: str) -> None:
    with pytest.raises(CallbackRefused, match=message.replace("?", r"\?")):
        check_callback_url(url)


def fake_resolver(table: dict[str, list[str]], calls: list[str] | None = None) -> Any:
    """A getaddrinfo stand-in answering from ``table`` (so no test depends on real DNS)."""

    def resolve(host: str, port: int | None, **_kw: Any) -> list[tuple[Any, ...]]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        out: list[tuple[Any, ...]] = []
        for raw in table[host]:
            if ":" in raw:
                out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (raw, port, 0, 0)))
            else:
                out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (raw, port)))
        return out

    return resolve


@pytest.mark.parametrize(
    ("addresses", "refused_one"),
    [
        (["93.184.216.34", "10.0.0.7"], "10.0.0.7"),  # one bad address among good ones
        (["10.0.0.7", "93.184.216.34"], "10.0.0.7"),
        (["2606:2800:220:1::1", "::1"], "::1"),
        (["93.184.216.34", "::ffff:127.0.0.1"], "::ffff:127.0.0.1"),
    ],
)
def test_every_resolved_address_is_checked(addresses: list[str], refused_one: str) -> None:
    resolver = fake_resolver({"mixed.example": addresses})
    shown = ipaddress.ip_address(refused_one)  # as Python writes it: ::ffff:7f00:1
    with pytest.raises(CallbackRefused, match=f"resolves to {shown} "):
        resolve_checked("mixed.example", 80, AddressPolicy(False), resolver)


def test_public_addresses_become_targets_once_each() -> None:
    resolver = fake_resolver({"ok.example": ["93.184.216.34", "93.184.216.34", "2606:2800::1"]})
    targets = resolve_checked("ok.example", 443, AddressPolicy(False), resolver)
    assert targets == [
        (socket.AF_INET, ("93.184.216.34", 443)),
        (socket.AF_INET6, ("2606:2800::1", 443, 0, 0)),
    ]


def test_unresolvable_host_is_refused() -> None:
    with pytest.raises(CallbackRefused, match="cannot resolve"):
        resolve_checked("nowhere.invalid", 80, AddressPolicy(False), fake_resolver({}))


# --- real sockets ---------------------------------------------------------------------------------


class Recorder(QuietHandler):
    """Records each request's line and headers; answers as the server's ``reply`` says."""

    def do_GET(self) -> None:
        self.server.seen.append((self.command, self.path, dict(self.headers)))  # type: ignore[attr-defined]
        status, headers, body = self.server.reply  # type: ignore[attr-defined]
        self.reply(status, body, headers)

    do_POST = do_GET


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    srv.seen = []  # type: ignore[attr-defined]
    srv.reply = (200, {}, b"ok")  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_connects_to_the_checked_address_with_the_callback_host(
    server: http.server.ThreadingHTTPServer,
) -> None:
    calls: list[str] = []
    resolver = fake_resolver({"sub.example.test": ["127.0.0.1"]}, calls)
    caller = Caller(AddressPolicy(True), 2, resolver=resolver)
    port = server.server_port
    reply = caller.request("POST", f"http://sub.example.test:{port}/cb?k=v", b"{}", {"X-A": "1"})
    assert reply.status == 200 and reply.body == b"ok"
    assert calls == ["sub.example.test"]  # resolved once, then connected to that address
    method, path, headers = server.seen[0]  # type: ignore[attr-defined]
    assert (method, path) == ("POST", "/cb?k=v")
    assert headers["Host"] == f"sub.example.test:{port}" and headers["X-A"] == "1"


def test_private_callback_never_reached_when_private_is_off(
    server: http.server.ThreadingHTTPServer,
) -> None:
    caller = Caller(AddressPolicy(False), 2)
    for host in ("127.0.0.1", "localhost", "[::ffff:127.0.0.1]"):
        with pytest.raises(CallbackRefused, match="ALLOW_PRIVATE"):
            caller.request("GET", f"http://{host}:{server.server_port}/cb")
    assert server.seen == []  # type: ignore[attr-defined]


def test_redirects_are_not_followed(server: http.server.ThreadingHTTPServer) -> None:
    target = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    target.seen = []  # type: ignore[attr-defined]
    threading.Thread(target=target.serve_forever, daemon=True).start()
    try:
        location = f"http://127.0.0.1:{target.server_port}/elsewhere"
        server.reply = (302, {"Location": location}, b"")  # type: ignore[attr-defined]
        reply = Caller(AddressPolicy(True), 2).request(
            "GET", f"http://127.0.0.1:{server.server_port}/"
        )
        assert reply.status == 302
        assert target.seen == []  # type: ignore[attr-defined]
    finally:
        target.shutdown()
        target.server_close()


@pytest.fixture
def silent_listener() -> Iterator[tuple[socket.socket, list[socket.socket]]]:
    """A socket that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield sock, accepted
    sock.close()
    for conn in accepted:
        conn.close()


def test_a_callback_that_never_answers_times_out(
    silent_listener: tuple[socket.socket, list[socket.socket]],
) -> None:
    port = silent_listener[0].getsockname()[1]
    started = time.monotonic()
    with pytest.raises(CallbackError, match="no answer within 0.5 s"):
        Caller(AddressPolicy(True), 0.5).request("POST", f"http://127.0.0.1:{port}/", b"x")
    assert time.monotonic() - started < 2


def test_a_callback_that_trickles_is_cut_off_at_the_deadline() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = sock.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.is_set():  # one header byte every 0.1 s: each read is "on time"
            try:
                conn.sendall(b"X")
            except OSError:
                break
            time.sleep(0.1)
        conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(CallbackError):
            Caller(AddressPolicy(True), 0.5).request(
                "GET", f"http://127.0.0.1:{sock.getsockname()[1]}/"
            )
        assert time.monotonic() - started < 2.5  # 2 × timeout, plus scheduling slack
    finally:
        stop.set()
        sock.close()


# --- TLS: SNI and certificate checked against the callback's name, not the address ----------------


# A self-signed certificate for sub.example.test (valid until 2126), made once with:
# openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj /CN=sub.example.test \
#   -addext subjectAltName=DNS:sub.example.test -keyout KEY -out CERT


@pytest.fixture
def certificate() -> tuple[Path, Path]:
    return DATA / "websub-callback-cert.pem", DATA / "websub-callback-key.pem"


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[int, list[str | None]]]:
    cert, key = certificate
    names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    srv.seen = []  # type: ignore[attr-defined]
    srv.reply = (204, {}, b"")  # type: ignore[attr-defined]
    srv.socket = context.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_port, names
    srv.shutdown()
    srv.server_close()


def test_https_uses_the_callback_name_for_sni_and_the_certificate(
    certificate: tuple[Path, Path], tls_server: tuple[int, list[str | None]]
) -> None:
    port, names = tls_server
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    resolver = fake_resolver(
        {"sub.example.test": ["127.0.0.1"], "other.example.test": ["127.0.0.1"]}
    )
    caller = Caller(AddressPolicy(True), 2, resolver=resolver, tls=trust)
    assert caller.request("POST", f"https://sub.example.test:{port}/cb", b"{}").status == 204
    assert names == ["sub.example.test"]
    # The same address under a name the certificate does not hold: refused by TLS.
    with pytest.raises(CallbackError, match="TLS failed"):
        caller.request("POST", f"https://other.example.test:{port}/cb", b"{}")
