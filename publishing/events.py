"""Warehouse rows for the events the publishing pages make themselves.

They go through the collector's spool (``Collector.record_server_events``), the same
durable path as the snippet's events, so the analytics and the promotion sensor read
them without knowing where they came from.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ingestion.columns import cached_channel
from ingestion.enrich import parse_user_agent
from kernel.events import Row, make_row

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def utm_of(url: str) -> dict[str, str]:
    """The ``utm_*`` parameters of ``url`` (each cut to 256 characters)."""
    return {k: v[:256] for k, v in parse_qsl(urlsplit(url).query) if k in UTM_KEYS}


def is_bot(user_agent: str) -> bool:
    """Crawlers and empty user agents: the collector refuses their events, so do the pages."""
    return parse_user_agent(user_agent)[3]


class RecentIds:
    """A bounded memory of event ids already recorded by this process: an image that
    loads again (mail clients reload, proxies prefetch) records nothing new. Across
    processes and restarts the id itself dedupes (compaction, ReplacingMergeTree)."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first(self, event_id: str) -> bool:
        """True the first time ``event_id`` is seen (and remembers it)."""
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            if len(self._ids) > self.size:
                self._ids.popitem(last=False)
            return True


def event_row(event: str, *, org_id: str, site_id: str, visitor_id: str, magnet_id: str,
              user_agent: str = "", url: str = "", referrer: str = "",
              utm: dict[str, str] | None = None, experiment: str = "", variant: str = "",
              country: str = "", props: dict[str, Any] | None = None, event_id: str = "",
              now_ms: int | None = None) -> Row:
    """One event row as the collector would have built it for the same visit."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    utm = utm or {}
    browser, os_name, device, _ = parse_user_agent(user_agent)
    source, medium = utm.get("utm_source", ""), utm.get("utm_medium", "")
    return make_row(
        event_id=event_id,
        org_id=org_id, site_id=site_id, ts=ms, received_at=ms, event=event,
        visitor_id=visitor_id[:64], magnet_id=magnet_id, experiment_id=experiment,
        variant=variant, url=url[:2048], referrer=referrer[:2048],
        **{k: utm.get(k, "") for k in UTM_KEYS},
        channel=cached_channel(referrer[:2048], source, medium, url[:2048] if referrer else ""),
        device=device, browser=browser, os=os_name, country=country[:2].upper(),
        props=json.dumps(props, separators=(",", ":")) if props else "")
