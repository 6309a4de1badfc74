"""SSRF guard: webhooks may only reach public addresses.

A target host is resolved and *every* address is checked (loopback, private, link-local,
multicast, reserved and unspecified ranges are refused, IPv4-mapped IPv6 included); the
request then goes to the checked address itself, so a DNS answer that changes between
check and connect (rebinding) cannot redirect it. ``allow_private`` (the setting
``LODESTONE_WEBHOOKS_ALLOW_PRIVATE``) lifts the guard (tests, on-premise receivers).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTargetError(ValueError):
    """The webhook URL is malformed or points at a non-public address."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"webhook URL {url!r} refused: {reason}")
        self.url, self.reason = url, reason


def is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified or not ip.is_global)


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or UnsafeTargetError."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTargetError(url, f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeTargetError(url, "use an http:// or https:// URL")
    if not parts.hostname:
        raise UnsafeTargetError(url, "the URL has no host")
    if parts.username or parts.password:
        raise UnsafeTargetError(url, "credentials in the URL are not allowed")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check_static(url: str, *, allow_private: bool = False) -> None:
    """Checks that need no DNS: scheme, host, and literal IPs / localhost names."""
    _, host, _ = parse(url)
    if allow_private:
        return
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise UnsafeTargetError(url, f"{host} is a local name")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return
    if not is_public(ip):
        raise UnsafeTargetError(url, f"{ip} is not a public address")


def resolve(url: str, *, allow_private: bool = False) -> list[IPAddress]:
    """All addresses of the URL's host, each checked (unless private targets are allowed)."""
    _, host, port = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeTargetError(url, f"cannot resolve {host} ({exc})") from None
    addresses: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise UnsafeTargetError(url, f"{host} has no address")
    if not allow_private:
        bad = [str(ip) for ip in addresses if not is_public(ip)]
        if bad:
            raise UnsafeTargetError(url, f"{host} resolves to non-public {', '.join(bad)}")
    return addresses
