"""Ready-to-post texts for LinkedIn, X and Facebook, each within its network's limit.

Built from the magnet's own words (title, subtitle, benefits); every link is the landing
page tagged ``utm_source=<network>&utm_medium=social``. Posting belongs to the
integrations; these are previewed and copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel.metadata.models import LeadMagnet
from publishing.qr import tag, tagged_url

#: Characters allowed per post; X counts every link as 23 (t.co).
LIMITS = {"linkedin": 3000, "x": 280, "facebook": 63206}
X_LINK_LENGTH = 23


@dataclass(frozen=True)
class SocialPost:
    network: str
    text: str
    url: str
    length: int  # as the network counts it
    limit: int


def _words(magnet: LeadMagnet) -> tuple[str, str, list[str]]:
    content: dict[str, Any] = magnet.content or {}
    title = str(content.get("headline") or content.get("title") or magnet.name).strip()
    sub = str(content.get("subheadline") or content.get("subtitle") or "").strip()
    benefits = [str(b).strip() for b in content.get("benefits") or [] if str(b).strip()]
    return title, sub, benefits


def _fit(text: str, room: int) -> str:
    if len(text) <= room:
        return text
    cut = text[: max(room - 1, 0)].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return cut + "…"


def social_posts(magnet: LeadMagnet, landing_url: str, campaign: str = "") -> list[SocialPost]:
    """One post per network for ``magnet``, each within ``LIMITS``."""
    campaign = tag(campaign, "campaign") if campaign else magnet.slug[:64]
    title, sub, benefits = _words(magnet)
    posts = []
    for network, limit in LIMITS.items():
        url = tagged_url(landing_url, network, "social", campaign)
        if network == "x":
            room = limit - X_LINK_LENGTH - 1
            body = _fit(f"{title}: {sub}" if sub else title, room)
            text = f"{body} {url}"
            length = len(body) + 1 + X_LINK_LENGTH
        else:
            lines = [title, ""] + ([sub, ""] if sub else [])
            if benefits:
                lines += [f"✅ {b}" for b in benefits[:5]] + [""]
            lines.append(f"Get it free: {url}")
            text = _fit("\n".join(lines), limit)
            length = len(text)
        posts.append(SocialPost(network, text, url, length, limit))
    return posts
