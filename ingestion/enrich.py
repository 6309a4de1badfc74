"""Enrichment: user agent -> browser/os/device, bot detection, channel, cookieless visitor id."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from ua_parser import parse as parse_ua

_BOT_RE = re.compile(
    r"bot|crawl|spider|slurp|headless|lighthouse|pingdom|uptime|monitor|preview|"
    r"facebookexternalhit|embedly|curl/|wget/|python-requests|httpx|go-http-client|java/|"
    r"okhttp|scrapy|phantomjs|selenium|puppeteer|playwright",
    re.I,
)

SEARCH_ENGINES = ("google.", "bing.", "duckduckgo.", "yahoo.", "baidu.", "yandex.", "ecosia.")
SOCIAL = (
    "facebook.", "fb.", "instagram.", "t.co", "twitter.", "x.com", "linkedin.", "lnkd.in",
    "reddit.", "youtube.", "tiktok.", "pinterest.", "threads.", "mastodon", "bsky.",
)
EMAIL_HOSTS = ("mail.google.", "outlook.", "mail.yahoo.", "webmail")


@lru_cache(maxsize=8192)
def parse_user_agent(ua: str) -> tuple[str, str, str, bool]:
    """(browser, os, device, is_bot) for a user-agent string (cached: few distinct UAs)."""
    if not ua or _BOT_RE.search(ua):
        return "", "", "bot", True
    r = parse_ua(ua)
    browser = r.user_agent.family if r.user_agent else "Other"
    os_name = r.os.family if r.os else "Other"
    dev = r.device
    if dev is not None and dev.family == "Spider":
        return browser, os_name, "bot", True
    low = ua.lower()
    if "ipad" in low or "tablet" in low or ("android" in low and "mobile" not in low):
        device = "tablet"
    elif "mobi" in low or "iphone" in low:
        device = "mobile"
    else:
        device = "desktop"
    return browser, os_name, device, False


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def channel_for(referrer: str, utm_source: str, utm_medium: str, page_url: str = "") -> str:
    """Coarse channel at collection time (pipelines apply GA4's full default grouping)."""
    medium = utm_medium.lower()
    source = utm_source.lower()
    if medium in ("cpc", "ppc", "paid", "paidsearch", "paid_search", "paid-social", "paid_social", "display", "cpm"):
        return "paid"
    if medium in ("email", "e-mail", "newsletter") or source in ("newsletter", "email"):
        return "email"
    if medium in ("social", "social-network", "social_media", "sm") or any(s in source for s in SOCIAL):
        return "social"
    if medium in ("affiliate", "partner"):
        return "affiliate"
    if medium == "organic":
        return "search"
    if medium == "referral":
        return "referral"
    host = _host(referrer)
    if not host or host == _host(page_url):
        return "direct" if not (source or medium) else "referral"
    if any(e in host for e in EMAIL_HOSTS):
        return "email"
    if any(host.startswith(s) or f".{s}" in host for s in SEARCH_ENGINES):
        return "search"
    if any(s in host for s in SOCIAL):
        return "social"
    return "referral"


class SaltStore:
    """Daily-rotating random salts, destroyed after 48 h (as Plausible does).

    Salts live in ``data_dir/salts`` so every worker hashes a visitor the same way on the
    same day; only today's and yesterday's salts exist, so a visitor id cannot be linked
    across more than a day boundary and old ids can never be recomputed.
    """

    def __init__(self, directory: Path, secret_key: str) -> None:
        self.dir = directory
        self.key = secret_key.encode()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._cache: tuple[str, bytes] | None = None

    def salt_for(self, day: str) -> bytes:
        if self._cache and self._cache[0] == day:
            return self._cache[1]
        path = self.dir / f"{day}.salt"
        try:
            salt = path.read_bytes()
        except FileNotFoundError:
            tmp = self.dir / f".tmp-{secrets.token_hex(8)}"
            tmp.write_bytes(secrets.token_bytes(32))
            try:
                os.link(tmp, path)  # first writer wins, the others read its salt
            except FileExistsError:
                pass
            tmp.unlink()
            salt = path.read_bytes()
            self.destroy_old()
        self._cache = (day, salt)
        return salt

    def destroy_old(self, keep_seconds: float = 48 * 3600) -> None:
        now = time.time()
        for p in self.dir.glob("*.salt"):
            if now - p.stat().st_mtime > keep_seconds:
                p.unlink(missing_ok=True)

    def visitor_id(self, org_id: str, ip: str, user_agent: str, now: float | None = None) -> str:
        day = datetime.fromtimestamp(now or time.time(), UTC).strftime("%Y-%m-%d")
        msg = f"{org_id}\x00{ip}\x00{user_agent}".encode()
        digest = hmac.new(self.key + self.salt_for(day), msg, hashlib.blake2b).hexdigest()
        return "c" + digest[:31]
