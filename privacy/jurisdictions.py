"""Regions a retention rule can name: ISO 3166-1 alpha-2 country codes, or a group.

Events carry the visitor's country (``country``, two letters, from the edge's header) when
it is known; a rule for a group applies to each of its countries, and a rule for a country
overrides its group's. Groups are the jurisdictions whose law sets retention for all their
members: the EU (GDPR), the EEA (GDPR through the EEA agreement).
"""

from __future__ import annotations

import re

EU = ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
      "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE")
GROUPS: dict[str, tuple[str, ...]] = {"EU": EU, "EEA": (*EU, "IS", "LI", "NO")}
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def problem(region: str) -> str | None:
    """Why ``region`` cannot be a rule's key, or None."""
    if region in GROUPS or _COUNTRY.match(region):
        return None
    return (f"unknown region {region[:20]!r}: use a two-letter ISO 3166-1 country code "
            f"(e.g. DE) or one of {', '.join(sorted(GROUPS))}")


def days_by_country(rules: dict[str, int]) -> dict[str, int]:
    """Each country's days: a group's rule for its members, a country's own rule over it."""
    out: dict[str, int] = {}
    for region, days in rules.items():
        for code in GROUPS.get(region, ()):
            out[code] = days
    out.update({region: days for region, days in rules.items() if region not in GROUPS})
    return out
