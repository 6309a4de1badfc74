"""SSRF guard: webhooks may only reach public addresses.

The host is normalised first (UTS-46/IDNA, canonical IPv4 only: :mod:`kernel.netguard`),
then resolved and *every* address is checked (loopback, private, link-local, multicast,
reserved and unspecified ranges are refused, and IPv4 embedded in IPv6 likewise); the
request then goes to the checked address itself, so a DNS answer that changes between
check and connect (rebinding) cannot redirect it. ``allow_private`` (the setting
``LODESTONE_WEBHOOKS_ALLOW_PRIVATE``) lifts the guard (tests, on-premise receivers).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from kernel import netguard

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTargetError(ValueError):
    """The webhook URL is malformed or points at a non-public address."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"webhook URL {url!r} refused: {reason}")
        self.url, self.reason = url, reason


def is_public(ip: IPAddress) -> bool:
    return netguard.is_public(ip)  # embedded IPv4 (mapped, 6to4, Teredo, NAT64) included


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
    try:
        host = netguard.normalise_host(parts.hostname)
    except netguard.HostError as exc:
        raise UnsafeTargetError(url, exc.reason) from None
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def check_static(url: str, *, allow_private: bool = False) -> None:
    """Checks at creation: scheme, host spelling, literal IPs, local names, and the name's
    current addresses when it resolves (checked again at every delivery)."""
    _, host, _ = parse(url)
    if allow_private:
        return
    if netguard.is_local_name(host):
        raise UnsafeTargetError(url, f"{host} is a local name")
    try:
        ip = netguard.literal_address(host)
    except netguard.HostError as exc:
        raise UnsafeTargetError(url, exc.reason) from None
    if ip is not None:
        if not is_public(ip):
            raise UnsafeTargetError(url, f"{ip} is not a public address")
        return
    try:
        resolve(url)
    except UnsafeTargetError as exc:
        if "non-public" in exc.reason:  # unresolvable now is fine: delivery checks again
            raise


def resolve(url: str, *, allow_private: bool = False) -> list[IPAddress]:
    """All addresses of the URL's host, each checked (unless private targets are allowed)."""
    _, host, port = parse(url)
    if not allow_private:
        try:
            ip = netguard.literal_address(host)
        except netguard.HostError as exc:  # 2130706433, 0x7f000001, 127.1: never resolved
            raise UnsafeTargetError(url, exc.reason) from None
        if netguard.is_local_name(host) or (ip is not None and not is_public(ip)):
            raise UnsafeTargetError(url, f"{host} is a non-public address")
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
        if not all(is_public(ip) for ip in addresses):  # never say which: DNS is private
            raise UnsafeTargetError(url, f"{host} resolves to a non-public address")
    return addresses
