"""The landing pages' consent banner, for organizations in ``consent_required`` mode.

What the page does before a choice: it sets no cookie and stores nothing in the browser;
its events carry the collector's cookieless id (a keyed hash of the network address and
browser with a salt that changes daily, from which neither can be recovered), like the
snippet's before ``lodestone.consent(true)``. The banner asks; the choice is posted
(with a signed token naming the page and the visitor) and answered with cookies:

* accept: ``ls_vid`` = today's cookieless id (so the variant the visitor sees does not
  change, as the snippet does) and ``ls_consent=granted``;
* decline: only ``ls_consent=denied`` (remembering the refusal, so the banner does not
  come back), and the page goes on as before the choice.

The choice is also recorded as an ``analytics`` consent record (``leads/consent.py``) by
the route; that record, not these cookies, decides whether the id is used
(``app_api/routes/landing.py``, ``ingestion/consent.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kernel.errors import DomainError
from kernel.metadata.enums import ConsentMode
from publishing import tokens

CONSENT_COOKIE = "ls_consent"
GRANTED, DENIED = "granted", "denied"
TOKEN_TTL_S = 24 * 3600.0
CHOICES = {"accept": True, "decline": False}


class ConsentChoiceError(DomainError):
    """The posted choice is neither accept nor decline."""

    code = "invalid"


def banner_needed(consent_mode: str, cookies: Mapping[str, str]) -> bool:
    """Whether the page must ask: consent required and this browser has not chosen."""
    return (ConsentMode(consent_mode) == ConsentMode.CONSENT_REQUIRED
            and cookies.get(CONSENT_COOKIE) not in (GRANTED, DENIED))


def consented(consent_mode: str, cookies: Mapping[str, str]) -> bool:
    """Whether the page may store an id in this browser."""
    mode = ConsentMode(consent_mode)
    if mode == ConsentMode.CONSENT_REQUIRED:
        return cookies.get(CONSENT_COOKIE) == GRANTED
    return mode == ConsentMode.FIRST_PARTY


def consent_token(secret: str, magnet_id: str, visitor_id: str) -> str:
    """Signed (page, visitor) for the banner's form: a choice posted from elsewhere fails."""
    return tokens.sign(secret, "consent", {"m": magnet_id, "v": visitor_id}, TOKEN_TTL_S)


def read_choice(secret: str, magnet_id: str, raw: Mapping[str, Any]) -> tuple[bool, str]:
    """(granted, visitor id to keep) from the posted banner form.

    Raises:
        tokens.TokenError: token missing, altered, expired or for another page.
        ConsentChoiceError: no valid choice.
    """
    def one(key: str) -> str:
        value = raw.get(key, "")
        return str(value[-1] if isinstance(value, list) and value else value or "")

    payload = tokens.verify(secret, "consent", one("token"))
    if payload.get("m") != magnet_id:
        raise tokens.TokenError("this choice belongs to another page; reload the page")
    choice = one("choice")
    if choice not in CHOICES:
        raise ConsentChoiceError("choose accept or decline")
    return CHOICES[choice], str(payload.get("v") or "")
