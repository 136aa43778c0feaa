"""Issue 13, finding 8: the hub could be aimed at the service itself.

The attack: with a wildcard bind (``FEEDSVC_BIND=0.0.0.0:8000``) and
``FEEDSVC_WEBSUB_ALLOW_PRIVATE=on``, subscribe a callback at one of the machine's interface
addresses on the service's port. The service's own addresses were taken from its host name
only (which Debian maps to 127.0.1.1 and containers to one address of many), so the hub
called the service itself. Now every address of every interface counts as the service's own,
and, as before, only the service's own port is refused there: a subscriber on the same machine
still works.

The addresses to expect are read here the other way round from the hub's ``getifaddrs``: from
``/proc/net/if_inet6`` and the SIOCGIFADDR ioctl of each interface (Linux only).
"""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct
import sys
from pathlib import Path

import pytest

from feedsvc.websub.safety import policy_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

SIOCGIFADDR = 0x8915

PORT = 8000


def interface_addresses() -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Each interface's IPv4 address (ioctl) and every IPv6 address (/proc)."""
    found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _index, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, request)
            except OSError:
                continue  # no IPv4 address on this interface
            found.add(ipaddress.IPv4Address(answer[20:24]))
    inet6 = Path("/proc/net/if_inet6")
    if inet6.exists():
        for line in inet6.read_text().splitlines():
            found.add(ipaddress.IPv6Address(bytes.fromhex(line.split()[0])))
    return found


@pytest.mark.parametrize("wildcard", ["0.0.0.0", "::"])
def test_every_interface_address_is_the_service_itself_on_its_port(wildcard: str) -> None:
    mine = interface_addresses()
    if all(address.is_loopback for address in mine):
        pytest.skip("this machine has no interface but loopback")
    policy = policy_for(True, (wildcard, PORT))
    for address in mine:
        reason = policy.refusal(address, PORT)
        assert reason is not None and "this service itself" in reason, address
        # Another port on the same machine is a neighbour: allowed (private delivery is on).
        assert policy.refusal(address, PORT + 1) is None, address


def test_a_specific_bind_keeps_its_own_rule() -> None:
    mine = [a for a in interface_addresses() if not a.is_loopback]
    policy = policy_for(True, ("127.0.0.1", PORT))
    for address in mine:
        assert policy.refusal(address, PORT) is None  # the service does not listen there
    assert policy.refusal(ipaddress.ip_address("127.0.0.1"), PORT) is not None
