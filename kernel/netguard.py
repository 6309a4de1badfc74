"""Is a host public? Normalisation and address checks for outbound requests (SSRF).

Webhook targets are given by tenants, so a host is judged the way the code that connects
will read it, and every spelling of a private address is refused:

* the host is mapped with UTS-46 and encoded with IDNA (full-width digits, ``。`` dots,
  enclosed letters become ASCII: ``１２７。０。０。１`` is ``127.0.0.1``), lower-cased,
  trailing dots removed;
* a host whose last label is a number is an IPv4 address to URL parsers and resolvers
  (WHATWG; ``inet_aton``), so it must be the canonical dotted quad: ``2130706433``,
  ``0x7f000001``, ``0177.0.0.1``, ``127.1`` and ``0`` are refused, not resolved;
* an address is public only if it and every IPv4 address embedded in it are global:
  IPv4-mapped (``::ffff:a.b.c.d``), IPv4-compatible (``::a.b.c.d``), 6to4 (``2002::/16``),
  Teredo (``2001::/32``, server and client) and NAT64 (``64:ff9b::/96``, ``64:ff9b:1::/48``).
"""

from __future__ import annotations

import ipaddress
import re

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".arpa")
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)
_HOST_CHARS = re.compile(r"[a-z0-9._-]+")


class HostError(ValueError):
    """The host cannot be used; ``reason`` says why in words a person can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalise_host(host: str) -> str:
    """The ASCII form a resolver sees: UTS-46 mapped, IDNA-encoded, lower case, no final dot.

    IPv6 literals (without brackets) come back in their compressed form.
    """
    if ":" in host:
        try:
            return str(ipaddress.IPv6Address(host.split("%", 1)[0]))
        except ValueError:
            raise HostError(f"{host!r} is not a valid IPv6 address") from None
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            raise HostError(f"{host!r} is not a valid host name ({exc})") from None
    host = host.lower().rstrip(".")
    if not host or not _HOST_CHARS.fullmatch(host) or ".." in host:
        raise HostError(f"{host!r} is not a valid host name")
    return host


def literal_address(host: str) -> IPAddress | None:
    """The address a normalised host spells, or None for a name.

    Raises HostError for numeric hosts that are not canonical dotted quads.
    """
    if ":" in host:
        return ipaddress.IPv6Address(host)
    if not _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        return None
    try:
        return ipaddress.IPv4Address(host)
    except ValueError:
        raise HostError(f"{host!r} is not a canonical IPv4 address; write it as four decimal "
                        "numbers without leading zeros (a.b.c.d)") from None


def embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses carried inside an IPv6 address (mapped, compatible, 6to4, Teredo, NAT64)."""
    if isinstance(ip, ipaddress.IPv4Address):
        return []
    out = []
    if ip.ipv4_mapped is not None:
        out.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        out.append(ip.sixtofour)
    if ip.teredo is not None:
        out.extend(ip.teredo)
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:  # ::a.b.c.d, the deprecated IPv4-compatible form
        out.append(low32)
    if any(ip in net for net in _NAT64):
        out.append(low32)
    return out


def _global(ip: IPAddress) -> bool:
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified or not ip.is_global)


def is_public(ip: IPAddress) -> bool:
    """True when ``ip`` and every IPv4 address embedded in it are globally routable."""
    return _global(ip) and all(_global(inner) for inner in embedded_ipv4(ip))


def is_local_name(host: str) -> bool:
    """Names that always mean this machine or its private network."""
    return host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES)
