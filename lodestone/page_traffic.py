"""Demo visitors through the real landing pages, over HTTP on 127.0.0.1.

Part of ``lodestone up``'s live traffic: each simulated visitor loads a demo magnet's
landing page (``GET /m/{org}/{magnet}``: the server picks the variant and records
``magnet_view``/``exposure``), some submit its opt-in form with the page's own form token
after a person's fill time, and most of those click the confirm link found in the mail
outbox (``/c/…``: ``confirmed``) and then the download (``/d/…``: ``download``). So the
leads of ``GET /v1/leads`` and these events come from the product's real path, not from
the simulator's shortcut. Opt-in posts per round are capped below the per-IP limit
(``LODESTONE_OPTIN_PER_MINUTE``), since every demo visitor comes from 127.0.0.1.
"""

from __future__ import annotations

import html
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import sqlalchemy as sa

from kernel.metadata.models import MailMessage
from lodestone.seed import SeededOrg
from lodestone.simulate import CHANNELS

TOKEN_RE = re.compile(r'name="token" value="([^"]+)"')
VARIANT_RE = re.compile(r'data-ls-variant="([^"]*)"')
CONFIRM_RE = re.compile(r"https?://[^\s\"<>]+(/c/[A-Za-z0-9._-]+)")
DOWNLOAD_RE = re.compile(r'href="[^"]*?(/d/[A-Za-z0-9._-]+)"')
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.{n}.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.{n} Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{n} like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.{n}.0 Mobile Safari/537.36",
)


@dataclass
class PageStats:
    """What one round of page visitors did (also what the server must have recorded)."""

    views: int = 0
    optins: int = 0
    confirmed: int = 0
    downloads: int = 0
    refused: int = 0

    def add(self, other: PageStats) -> None:
        for name in ("views", "optins", "confirmed", "downloads", "refused"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def local_base(url: str) -> str:
    """``url`` if it points at this machine's loopback (the only place demo visitors go)."""
    if urlsplit(url).hostname != "127.0.0.1":
        raise ValueError(f"demo visitors only visit 127.0.0.1, not {url}")
    return url.rstrip("/")


def max_posts_per_round(optin_per_minute: int, every_s: float) -> int:
    """Opt-in posts one round may make: half the per-IP limit over the round's period."""
    if optin_per_minute <= 0:
        return 5
    return max(0, min(5, int(optin_per_minute * every_s / 60 / 2)))


def confirm_path(sessions: Any, org_id: str, email: str) -> str:
    """The path of the newest confirm link mailed to ``email`` (from the outbox), or ''."""
    from leads.service import find_lead_ids_by_email

    with sessions() as s:  # recipients and bodies are encrypted: find the mail by its lead
        leads = find_lead_ids_by_email(s, org_id, email)
        mail = s.scalars(sa.select(MailMessage).where(
            MailMessage.org_id == org_id, MailMessage.lead_id.in_(leads),
            MailMessage.kind == "confirm").order_by(MailMessage.created_at.desc()).limit(1)
        ).first() if leads else None
        body = mail.text_body if mail is not None else ""
    found = CONFIRM_RE.search(body or "")
    return found.group(1) if found else ""


@dataclass
class _Visit:
    client: httpx.Client
    path: str
    token: str
    variant: str
    lift: float


class PageVisitors:
    """Rounds of visitors on an organization's demo landing pages."""

    def __init__(self, base_url: str, sessions: Any, org: SeededOrg, *, rng: random.Random,
                 max_posts: int = 1, opt_in_rate: float = 0.3, confirm_rate: float = 0.7) -> None:
        self.base = local_base(base_url)
        self.sessions, self.org, self.rng = sessions, org, rng
        self.max_posts, self.opt_in_rate, self.confirm_rate = max_posts, opt_in_rate, confirm_rate

    def _client(self) -> httpx.Client:
        ua = self.rng.choice(USER_AGENTS).format(n=self.rng.randrange(10_000))
        return httpx.Client(base_url=self.base, timeout=10, follow_redirects=False,
                            headers={"User-Agent": ua, "Accept-Language": "en"})

    def _view(self, client: httpx.Client, stats: PageStats) -> _Visit | None:
        magnet = self.rng.choice(self.org.magnets)
        look = CHANNELS[self.rng.choice(list(CHANNELS))][2]
        utm = {k: v for k, v in look.items() if k.startswith("utm_")}
        path = f"/m/{self.org.slug}/{magnet.slug}"
        headers = {"Referer": look["referrer"]} if "referrer" in look else {}
        r = client.get(f"{path}?{urlencode(utm)}" if utm else path, headers=headers)
        if r.status_code != 200:
            stats.refused += 1
            return None
        stats.views += 1
        token, variant = TOKEN_RE.search(r.text), VARIANT_RE.search(r.text)
        if token is None:
            return None
        arm = variant.group(1) if variant else ""
        return _Visit(client, path, html.unescape(token.group(1)), arm,
                      magnet.true_lift.get(arm, 0.0))

    def _opt_in(self, visit: _Visit, stats: PageStats) -> None:
        email = f"v{self.rng.getrandbits(48):012x}@visitors.{self.org.slug}.example"
        form = {"token": visit.token, "email": email, "name": self.rng.choice(
            ("Ada", "Grace", "Linus", "Mia", "Noor", "Sam", "")), "website": ""}
        if self.rng.random() < 0.5:
            form["consent_marketing_email"] = "yes"
        r = visit.client.post(visit.path, data=form, headers={"Accept": "application/json"})
        if r.status_code != 200:
            stats.refused += 1
            return
        stats.optins += 1
        body = r.json()
        if body.get("status") == "pending":
            if self.rng.random() >= self.confirm_rate:
                return
            path = confirm_path(self.sessions, self.org.org_id, email)
            if not path:
                return
            page = visit.client.get(path)
            if page.status_code != 200:
                stats.refused += 1
                return
            stats.confirmed += 1
            found = DOWNLOAD_RE.search(page.text)
            download = found.group(1) if found else ""
        else:
            download = urlsplit(body.get("download_url") or "").path
        if download and visit.client.get(download).status_code == 200:
            stats.downloads += 1

    def round(self, visitors: int, wait: Callable[[float], bool], min_fill_s: float
              ) -> PageStats:
        """``visitors`` page views, then (after ``min_fill_s``, waited with ``wait``, which
        returns True to stop) up to ``max_posts`` opt-ins and their confirm clicks."""
        stats = PageStats()
        clients: Sequence[httpx.Client] = [self._client() for _ in range(visitors)]
        try:
            visits = [v for v in (self._view(c, stats) for c in clients) if v is not None]
            keen = [v for v in visits
                    if self.rng.random() < min(0.95, self.opt_in_rate * (1 + v.lift))]
            if not keen[:self.max_posts] or wait(min_fill_s + 0.2):
                return stats
            for visit in keen[:self.max_posts]:
                self._opt_in(visit, stats)
        finally:
            for c in clients:
                c.close()
        return stats
