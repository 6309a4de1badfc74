"""Personal data found in free text: emails, phone numbers, card numbers (Luhn), a few
national ids (US SSN, UK NINO, French NIR with its key), IP addresses.

Used where free text enters: event ``props`` (the collector), opt-in form answers and AI
prompts. Each check runs only when a cheap test says it could match (an ``@`` for emails,
enough digits for phones and cards), so text without personal data costs a few string
scans. Policy: ``redact`` replaces each finding by ``[redacted:<kind>]``, ``refuse`` raises
:class:`PIIRefusedError`, ``off`` passes text through. Findings are counted in the
``lodestone_pii_findings_total`` Prometheus counter by kind and source; the values
themselves are never logged or kept.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter

from kernel.errors import DomainError

POLICIES = ("redact", "refuse", "off")
FINDINGS = Counter("lodestone_pii_findings_total",
                   "Personal data found in free text (never the values).", ["kind", "source"])

_NO_DIGITS = {ord(c): None for c in "0123456789"}


def _maybe(text: str) -> bool:
    """Whether ``text`` could hold a finding (a superset, in C-speed string operations):
    an "@" (emails), six or more digits (phones, cards, national ids, IPv4: :func:`find`
    needs as many), or two colons (IPv6). Most props and answers fail it."""
    return ("@" in text or len(text) - len(text.translate(_NO_DIGITS)) >= 6
            or text.count(":") >= 2)


_DIGIT = re.compile(r"\d")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
_SSN = re.compile(r"(?<!\d)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\d)")
_NINO = re.compile(r"\b(?![DFIQUV])[A-Z](?![DFIOQUV])[A-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_NIR = re.compile(r"(?<!\d)([12])[ ]?(\d{2})[ ]?(\d{2})[ ]?(\d{2}|2A|2B)[ ]?(\d{3})[ ]?(\d{3})"
                  r"[ ]?(\d{2})(?!\d)")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f:]*[0-9A-Fa-f]"
                   r"(?![0-9A-Fa-f:])")


class PIIRefusedError(DomainError):
    """The text holds personal data and the organization's policy is to refuse it."""

    code = "personal_data"


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _nir_ok(m: re.Match[str]) -> bool:
    body = "".join(m.groups()[:6]).replace("2A", "19").replace("2B", "18")
    return 97 - int(body) % 97 == int(m.group(7))


def find(text: str, region: str = "US") -> list[Finding]:
    """Non-overlapping findings in ``text``, in order."""
    if not _maybe(text):  # most text: nothing that could be personal data
        return []
    out: list[Finding] = []
    if "@" in text:
        out += [Finding("email", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    digits = len(_DIGIT.findall(text))
    if digits >= 13:
        for m in _CARD.finditer(text):
            if luhn_ok(re.sub(r"\D", "", m.group())):
                out.append(Finding("card", m.start(), m.end()))
        out += [Finding("national_id", m.start(), m.end()) for m in _NIR.finditer(text)
                if _nir_ok(m)]
    if digits >= 6:
        out += [Finding("national_id", m.start(), m.end()) for m in _SSN.finditer(text)]
        out += [Finding("national_id", m.start(), m.end()) for m in _NINO.finditer(text)]
        for m in _IPV4.finditer(text):
            try:
                ipaddress.IPv4Address(m.group())
            except ValueError:
                continue
            out.append(Finding("ip", m.start(), m.end()))
    if digits >= 7:
        import phonenumbers  # loaded on first need: most text has no run of 7 digits

        out += [Finding("phone", m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID)]
    if text.count(":") >= 2:
        for m in _IPV6.finditer(text):
            try:
                ipaddress.IPv6Address(m.group())
            except ValueError:
                continue
            out.append(Finding("ip", m.start(), m.end()))
    return _no_overlap(out)


def _no_overlap(found: Iterable[Finding]) -> list[Finding]:
    kept: list[Finding] = []
    for f in sorted(found, key=lambda f: (f.start, -(f.end - f.start))):
        if not kept or f.start >= kept[-1].end:
            kept.append(f)
    return kept


def screen(text: str, policy: str, source: str, region: str = "US") -> str:
    """``text`` with personal data redacted (or refused) per ``policy``, findings counted.

    Raises:
        PIIRefusedError: ``policy`` is ``refuse`` and something was found (the message
            names the kinds, never the values).
    """
    if policy == "off" or not text:
        return text
    found = find(text, region)
    if not found:
        return text
    for f in found:
        FINDINGS.labels(f.kind, source).inc()
    if policy == "refuse":
        kinds = ", ".join(sorted({f.kind for f in found}))
        raise PIIRefusedError(f"this text holds personal data ({kinds}); remove it and send "
                              "it again", [{"kinds": sorted({f.kind for f in found})}])
    parts, last = [], 0
    for f in found:
        parts += [text[last:f.start], f"[redacted:{f.kind}]"]
        last = f.end
    return "".join(parts) + text[last:]


def screen_value(value: Any, policy: str, source: str) -> Any:
    """:func:`screen` over every string in a JSON value (dict keys stay as they are); the
    value itself when nothing in it was redacted (no copy on the common path)."""
    if policy == "off":
        return value
    if isinstance(value, str):
        return screen(value, policy, source) if _maybe(value) else value
    if isinstance(value, dict):
        out = None
        for k, v in value.items():
            if isinstance(v, (int, float, bool)) or v is None:
                continue
            new = screen_value(v, policy, source)
            if new is not v:
                out = out if out is not None else dict(value)
                out[k] = new
        return value if out is None else out
    if isinstance(value, list):
        items = [screen_value(v, policy, source) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def org_policy(org_settings: dict[str, Any] | None, default: str) -> str:
    """The organization's ``pii_policy`` (its settings) when valid, else ``default``."""
    chosen = (org_settings or {}).get("pii_policy")
    return chosen if chosen in POLICIES else default
