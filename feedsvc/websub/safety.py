"""Where the hub may send requests: a hub that GETs and POSTs wherever a stranger asks is a
server-side request forgery tool, so every callback address is checked before each request.

A callback must be ``http`` or ``https``. Its host is resolved once per request, and *every*
address it resolves to must be acceptable (a name with one public and one private address is
refused: the attacker picks which one a later lookup returns). The request then connects to
one of exactly those checked addresses (see :mod:`feedsvc.websub.client`), so a DNS answer that
changes between check and connection (DNS rebinding) cannot steer it elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

from feedsvc.websub.interfaces import interface_addresses

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (family, socket address) as socket.getaddrinfo gives them: what a connection is made to.
Target = tuple[int, tuple[Any, ...]]
Resolver = Callable[..., list[tuple[Any, ...]]]

MAX_CALLBACK_LENGTH = 2000
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291 §2.5.5.1 (deprecated)
WILDCARD_HOSTS = ("", "0.0.0.0", "::", "*")


class CallbackRefused(Exception):
    """A callback URL or one of its addresses is not allowed; the message says why."""


def check_callback_url(url: str) -> SplitResult:
    """The parsed callback URL when its form is acceptable; CallbackRefused otherwise."""
    if len(url) > MAX_CALLBACK_LENGTH:
        raise CallbackRefused(f"hub.callback is longer than {MAX_CALLBACK_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise CallbackRefused(f"hub.callback is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise CallbackRefused("hub.callback must be an http:// or https:// URL")
    if not parts.hostname:
        raise CallbackRefused("hub.callback has no host")
    if parts.username is not None or parts.password is not None:
        raise CallbackRefused("hub.callback must not carry user:password@; put a secret path")
    if parts.fragment:
        raise CallbackRefused("hub.callback must not have a #fragment")
    if port == 0:
        raise CallbackRefused("hub.callback has port 0")
    return parts


def callback_host(url: str) -> str:
    """The host of a callback URL as the hub's per-host limits count it: in lower case, an IPv6
    address in brackets, without the port (``https://Bot.example:8443/cb`` → ``bot.example``)."""
    host = urlsplit(url).hostname or ""
    return f"[{host}]" if ":" in host else host


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address; the server's is the relay
    if address in NAT64_PREFIX or (address in IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_category(address: IPAddress) -> str | None:
    """Why an address is not a public Internet address (None when it is one)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            reason = address_category(inner)
            if reason is not None:
                return f"{reason} (inside the IPv6 address {address})"
            if address.ipv4_mapped is not None:
                return None  # ::ffff:a.b.c.d is simply the IPv4 address a.b.c.d
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        # Shared (100.64/10), benchmarking, 6to4 relay anycast, …: not reachable on the Internet.
        ("not globally routable", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def _plain(address: IPAddress) -> IPAddress:
    """IPv4 for an IPv4-mapped IPv6 address; any other address unchanged."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_address(raw: str) -> IPAddress:
    """An address from getaddrinfo, without an IPv6 zone id (``fe80::1%eth0``)."""
    return ipaddress.ip_address(raw.split("%")[0])


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses a callback may use: public ones, private ones too when
    FEEDSVC_WEBSUB_ALLOW_PRIVATE=on, and never this service's own listening address."""

    allow_private: bool
    own_port: int | None = None
    own_addresses: frozenset[IPAddress] = field(default_factory=frozenset)

    def refusal(self, address: IPAddress, port: int) -> str | None:
        """Why a request to (address, port) is refused, or None when it is allowed."""
        plain = _plain(address)
        if port == self.own_port and (plain in self.own_addresses or _reaches_self(plain)):
            return f"{address} port {port} is this service itself"
        if self.allow_private:
            return None
        category = address_category(address)
        if category is None:
            return None
        return (
            f"{address} is a {category} address; set FEEDSVC_WEBSUB_ALLOW_PRIVATE=on to allow "
            "callbacks on private networks"
        )


def _reaches_self(address: IPAddress) -> bool:
    # Loopback and the unspecified address (which Linux connects to this host) always do.
    return address.is_loopback or address.is_unspecified


def policy_for(allow_private: bool, bind: tuple[str, int]) -> AddressPolicy:
    """The policy of a service bound to ``bind`` (FEEDSVC_BIND)."""
    host, port = bind
    return AddressPolicy(allow_private, port, frozenset(_own_addresses(host)))


def _own_addresses(host: str) -> set[IPAddress]:
    """The addresses on which this service listens: for a wildcard bind, every address of every
    interface of this machine, and whatever its host name resolves to."""
    names = [host]
    found: set[IPAddress] = set()
    if host in WILDCARD_HOSTS:
        names = [socket.gethostname(), socket.getfqdn()]
        found.update(_plain(address) for address in interface_addresses())
    for name in names:
        try:
            found.update(_plain(address) for _, address in _lookup(name, None, socket.getaddrinfo))
        except OSError:
            continue  # an unresolvable host name only means fewer known own addresses
    return found


def _lookup(host: str, port: int | None, resolver: Resolver) -> list[tuple[int, IPAddress]]:
    infos = resolver(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    out = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        out.append((family, parse_address(str(sockaddr[0]))))
    return out


def resolve_checked(
    host: str, port: int, policy: AddressPolicy, resolver: Resolver = socket.getaddrinfo
) -> list[Target]:
    """Resolve ``host`` once and check every address; the targets to connect to, or raise
    CallbackRefused naming the first refused address."""
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise CallbackRefused(f"cannot resolve {host!r}: {exc}") from None
    targets: list[Target] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = parse_address(str(sockaddr[0]))
        reason = policy.refusal(address, port)
        if reason is not None:
            raise CallbackRefused(f"{host!r} resolves to {reason}")
        targets.append((family, tuple(sockaddr)))
    if not targets:
        raise CallbackRefused(f"{host!r} has no IPv4 or IPv6 address")
    return _unique(targets)


def _unique(targets: Iterable[Target]) -> list[Target]:
    """Each target once, in resolver order (getaddrinfo repeats them per socket type)."""
    out: list[Target] = []
    for target in targets:
        if target not in out:
            out.append(target)
    return out
