"""The IP addresses of this machine's network interfaces, read with the C library's
``getifaddrs(3)`` (the list ``ip addr`` shows: every interface, every address, both families).

The hub needs them when the service listens on a wildcard address: a callback at any of them
reaches the service itself. The standard library has no portable call for this list, and the
host name is no substitute (Debian maps it to 127.0.1.1, containers to one address of many).
On a system without ``getifaddrs`` the list is empty and the caller falls back to the host name.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import ipaddress
import socket
import sys

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class _SockAddr(ctypes.Structure):
    # Linux layout: a 16-bit family first. (BSD and macOS put a length byte before a one-byte
    # family; interface_addresses() reads nothing there.)
    _fields_ = [("family", ctypes.c_ushort), ("data", ctypes.c_ubyte * 14)]


class _SockAddrIn(ctypes.Structure):
    _fields_ = [
        ("family", ctypes.c_ushort),
        ("port", ctypes.c_ushort),
        ("addr", ctypes.c_ubyte * 4),
        ("zero", ctypes.c_ubyte * 8),
    ]


class _SockAddrIn6(ctypes.Structure):
    _fields_ = [
        ("family", ctypes.c_ushort),
        ("port", ctypes.c_ushort),
        ("flowinfo", ctypes.c_uint32),
        ("addr", ctypes.c_ubyte * 16),
        ("scope_id", ctypes.c_uint32),
    ]


class _IfAddrs(ctypes.Structure):
    pass


_IfAddrs._fields_ = [
    ("next", ctypes.POINTER(_IfAddrs)),
    ("name", ctypes.c_char_p),
    ("flags", ctypes.c_uint),
    ("addr", ctypes.POINTER(_SockAddr)),
    ("netmask", ctypes.POINTER(_SockAddr)),
    ("broadaddr", ctypes.POINTER(_SockAddr)),
    ("data", ctypes.c_void_p),
]


def interface_addresses() -> set[IPAddress]:
    """Every IPv4 and IPv6 address of this machine's interfaces (empty where unknown)."""
    if not sys.platform.startswith("linux"):
        return set()
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.getifaddrs.argtypes = [ctypes.POINTER(ctypes.POINTER(_IfAddrs))]
    libc.getifaddrs.restype = ctypes.c_int
    libc.freeifaddrs.argtypes = [ctypes.POINTER(_IfAddrs)]
    libc.freeifaddrs.restype = None
    head = ctypes.POINTER(_IfAddrs)()
    if libc.getifaddrs(ctypes.byref(head)) != 0:
        return set()
    found: set[IPAddress] = set()
    try:
        node = head
        while node:
            entry = node.contents
            address = _address(entry.addr)
            if address is not None:
                found.add(address)
            node = entry.next
    finally:
        libc.freeifaddrs(head)
    return found


def _address(pointer: ctypes._Pointer[_SockAddr]) -> IPAddress | None:
    """The address a ``struct sockaddr`` holds, for the two IP families only."""
    if not pointer:
        return None  # an interface without an address (a tunnel being set up, …)
    family = pointer.contents.family
    if family == socket.AF_INET:
        v4 = ctypes.cast(pointer, ctypes.POINTER(_SockAddrIn)).contents
        return ipaddress.IPv4Address(bytes(v4.addr))
    if family == socket.AF_INET6:
        v6 = ctypes.cast(pointer, ctypes.POINTER(_SockAddrIn6)).contents
        return ipaddress.IPv6Address(bytes(v6.addr))
    return None  # AF_PACKET (the link layer) and others
