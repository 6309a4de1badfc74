"""The signed URLs of the publishing flow: landing page, confirm, download, unsubscribe."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from kernel.metadata.models import Lead, Organization
from kernel.settings import Settings
from publishing import tokens

HOUR = 3600.0
UNSUBSCRIBE_TTL_S = 5 * 365 * 24 * HOUR  # an unsubscribe link must keep working


@dataclass(frozen=True)
class Links:
    """URL builder for one base URL (``LODESTONE_PUBLIC_URL`` or the request's own)."""

    base_url: str
    settings: Settings

    @property
    def base(self) -> str:
        return (self.settings.public_url or self.base_url).rstrip("/")

    def landing(self, org_slug: str, magnet_slug: str) -> str:
        return f"{self.base}/m/{quote(org_slug)}/{quote(magnet_slug)}"

    def _sign(self, purpose: str, lead: Lead, ttl_s: float) -> str:
        return tokens.sign(self.settings.secret_key, purpose,
                           {"o": lead.org_id, "l": lead.id}, ttl_s)

    def confirm(self, lead: Lead) -> str:
        ttl = self.settings.confirm_link_ttl_hours * HOUR
        return f"{self.base}/c/{self._sign('confirm', lead, ttl)}"

    def download(self, lead: Lead) -> str:
        ttl = self.settings.download_link_ttl_hours * HOUR
        return f"{self.base}/d/{self._sign('download', lead, ttl)}"

    def open_pixel(self, lead: Lead, mail_key: str) -> str:
        """The open pixel of one mail (``mail_key``: the campaign, or one send) to ``lead``."""
        token = tokens.sign(self.settings.secret_key, "open",
                            {"o": lead.org_id, "l": lead.id, "k": mail_key}, UNSUBSCRIBE_TTL_S)
        return f"{self.base}/o/{token}.gif"

    def unsubscribe(self, lead: Lead) -> str:
        return f"{self.base}/u/{self._sign('unsubscribe', lead, UNSUBSCRIBE_TTL_S)}"


def lead_ref(secret: str, purpose: str, token: str) -> tuple[str, str]:
    """(org id, lead id) of a genuine, unexpired link token (raises ``tokens.TokenError``)."""
    payload = tokens.verify(secret, purpose, token)
    org_id, lead_id = payload.get("o"), payload.get("l")
    if not isinstance(org_id, str) or not isinstance(lead_id, str):
        raise tokens.TokenError("this link cannot be read")
    return org_id, lead_id


def privacy_url(org: Organization) -> str:
    """The organization's privacy policy (``settings.privacy_url``) or the built-in page."""
    url = (org.settings or {}).get("privacy_url")
    if isinstance(url, str) and url.startswith(("https://", "http://", "/")):
        return url
    return f"/p/{quote(org.slug)}/privacy"
