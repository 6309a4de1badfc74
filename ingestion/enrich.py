"""Enrichment: user agent -> browser/os/device, bot detection, channel, cookieless visitor id."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Callable
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
SOCIAL_SOURCES = frozenset({
    "facebook", "fb", "instagram", "ig", "twitter", "x", "linkedin", "reddit", "youtube",
    "tiktok", "pinterest", "threads", "mastodon", "bluesky", "meta",
})
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


def page_host(url: str) -> str:
    """Host of an absolute URL, cheaply (the hot path calls this once per event)."""
    i = url.find("://")
    if i < 0:
        return ""
    host = url[i + 3:].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return host.rsplit("@", 1)[-1].split(":", 1)[0].lower()


def channel_for(referrer: str, utm_source: str, utm_medium: str, page_url: str = "") -> str:
    """Coarse channel at collection time (pipelines apply GA4's full default grouping)."""
    return channel_of(referrer, utm_source, utm_medium, page_host(page_url))


@lru_cache(maxsize=16384)
def channel_of(referrer: str, utm_source: str, utm_medium: str, own_host: str) -> str:
    """:func:`channel_for` given the page's host; cached (few distinct combinations)."""
    medium = utm_medium.lower()
    source = utm_source.lower()
    if medium in ("cpc", "ppc", "paid", "paidsearch", "paid_search", "paid-social", "paid_social", "display", "cpm"):
        return "paid"
    if medium in ("email", "e-mail", "newsletter") or source in ("newsletter", "email"):
        return "email"
    if (medium in ("social", "social-network", "social_media", "sm") or source in SOCIAL_SOURCES
            or any(s in source for s in SOCIAL)):
        return "social"
    if medium in ("affiliate", "partner"):
        return "affiliate"
    if medium == "organic":
        return "search"
    if medium == "referral":
        return "referral"
    host = _host(referrer)
    if not host or host == own_host:
        return "direct" if not (source or medium) else "referral"
    if any(e in host for e in EMAIL_HOSTS):
        return "email"
    if any(host.startswith(s) or f".{s}" in host for s in SEARCH_ENGINES):
        return "search"
    if any(s in host for s in SOCIAL):
        return "social"
    return "referral"


#: How long a day's salt lives after its day began (compliance reports quote it).
SALT_KEEP_SECONDS = 48 * 3600


class SaltStore:
    """Daily-rotating random salts, destroyed 48 h after their day began (as Plausible does).

    Salts live in ``data_dir/salts`` so every worker hashes a visitor the same way on the
    same day. A salt file is named for its UTC day; once that day began more than
    ``keep_seconds`` ago it is deleted, so at most today's and yesterday's salts exist, a
    visitor id cannot be linked across more than a day boundary, and old ids can never be
    recomputed. ``clock`` is injectable so tests can move time forward.
    """

    def __init__(self, directory: Path, secret_key: str, *,
                 clock: Callable[[], float] = time.time,
                 keep_seconds: float = SALT_KEEP_SECONDS) -> None:
        self.dir = directory
        self.key = secret_key.encode()
        self.clock = clock
        self.keep_seconds = keep_seconds
        self.dir.mkdir(parents=True, exist_ok=True)
        self._day = ""
        self._day_span = (0.0, 0.0)  # [start, end) of self._day, epoch seconds
        self._salted_key = b""
        self._ids: dict[tuple[str, str, str], str] = {}

    @staticmethod
    def day_of(ts: float) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")

    def salt_for(self, day: str) -> bytes:
        """The salt of ``day`` (created on first use; the first worker to write it wins)."""
        path = self.dir / f"{day}.salt"
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        tmp = self.dir / f".tmp-{secrets.token_hex(8)}"
        tmp.write_bytes(secrets.token_bytes(32))
        try:
            os.link(tmp, path)  # atomic: first writer wins, the others read its salt
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        salt = path.read_bytes()
        self.destroy_old()
        return salt

    def destroy_old(self) -> list[str]:
        """Delete salts whose day began more than ``keep_seconds`` ago; returns their days."""
        now = self.clock()
        gone = []
        for p in self.dir.glob("*.salt"):
            try:
                begun = datetime.strptime(p.stem, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
            except ValueError:
                continue
            if now - begun >= self.keep_seconds:
                p.unlink(missing_ok=True)
                gone.append(p.stem)
        return gone

    def visitor_id(self, org_id: str, ip: str, user_agent: str) -> str:
        """Keyed hash of (today's salt, org, IP, user agent); the IP itself is never kept."""
        now = self.clock()
        if not self._day_span[0] <= now < self._day_span[1]:  # a new day (or the first call)
            day = self.day_of(now)
            start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
            self._salted_key = self.key + self.salt_for(day)
            self._day, self._day_span, self._ids = day, (start, start + 86400.0), {}
        key = (org_id, ip, user_agent)
        vid = self._ids.get(key)
        if vid is None:
            msg = f"{org_id}\x00{ip}\x00{user_agent}".encode()
            vid = "c" + hmac.new(self._salted_key, msg, hashlib.blake2b).hexdigest()[:31]
            if len(self._ids) >= 65536:  # bounded memo: visitors repeat within minutes
                self._ids.clear()
            self._ids[key] = vid
        return vid
