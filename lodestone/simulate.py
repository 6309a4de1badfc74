"""Traffic simulator: multi-touch journeys with known truth (channel mix, true lifts).

Events go through the real collector over HTTP (``/v1/events`` with the org's API key, so
backfilled timestamps are kept) or, with ``direct``, straight into the warehouse in bulk.
The ground truth is written beside the data so tests can check the analytics against it.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from experiments.assignment import choose_variant
from kernel.events import Row, rows_to_arrow
from kernel.schema import COLUMN_NAMES, FLAG_SIMULATED
from kernel.warehouse import Warehouse
from lodestone.seed import SeededOrg

log = logging.getLogger(__name__)

DAY_MS = 86_400_000

# channel -> (first-touch share, conversion multiplier, how a visit from it looks)
CHANNELS: dict[str, tuple[float, float, dict[str, str]]] = {
    "search": (0.30, 1.0, {"referrer": "https://www.google.com/"}),
    "paid": (0.15, 1.1, {"referrer": "https://www.google.com/", "utm_source": "google",
                         "utm_medium": "cpc", "utm_campaign": "playbook_q4"}),
    "social": (0.20, 0.7, {"referrer": "https://www.linkedin.com/", "utm_source": "linkedin",
                           "utm_medium": "social", "utm_campaign": "launch_posts"}),
    "email": (0.10, 1.6, {"utm_source": "newsletter", "utm_medium": "email",
                          "utm_campaign": "weekly_digest"}),
    "referral": (0.10, 1.2, {"referrer": "https://blog.partner-site.example/growth-tools"}),
    "direct": (0.15, 1.3, {}),
}
DEVICES = (("desktop", "Chrome", "Windows", 0.45), ("desktop", "Safari", "Mac OS X", 0.15),
           ("mobile", "Mobile Safari", "iOS", 0.25), ("mobile", "Chrome Mobile", "Android", 0.15))
COUNTRIES = (("US", 0.45), ("GB", 0.15), ("DE", 0.12), ("FR", 0.08), ("IN", 0.1), ("BR", 0.1))


@dataclass
class Truth:
    """What the simulator actually did: the reference for tests of the analytics."""

    seed: int
    orgs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"seed": self.seed, "orgs": self.orgs}, indent=2, sort_keys=True)


def _pick(rng: random.Random, items: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    r, acc = rng.random(), 0.0
    for item in items:
        acc += item[-1]
        if r < acc:
            return item
    return items[-1]


def _uuid_bytes(rng: random.Random) -> bytes:
    return uuid.UUID(int=rng.getrandbits(128), version=4).bytes


def _row(rng: random.Random, org: SeededOrg, ctx: tuple[Any, ...], event: str, ts: float,
         value: float, url: str, mag: str, exp: str, var: str) -> Row:
    vid, sid, look, channel, device, browser, os_name, country = ctx
    return (
        _uuid_bytes(rng), org.org_id, org.site_id, int(ts), int(ts), event, vid, sid,
        mag, exp, var, url, look.get("referrer", ""), look.get("utm_source", ""),
        look.get("utm_medium", ""), look.get("utm_campaign", ""), "", "", channel, device,
        browser, os_name, country, value, "", FLAG_SIMULATED,
    )


def generate(
    org: SeededOrg, visitors: int, days: int, rng: random.Random, now_ms: int
) -> tuple[list[Row], dict[str, Any]]:
    """All events of ``visitors`` journeys over the last ``days`` days, and their truth."""
    channels = list(CHANNELS)
    shares = [CHANNELS[c][0] for c in channels]
    start = now_ms - days * DAY_MS
    rows: list[Row] = []
    first_touch: Counter[str] = Counter()
    touches: Counter[str] = Counter()
    arms: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    totals: Counter[str] = Counter()
    revenue = 0.0
    base = "https://demo.lodestone.example"
    for _ in range(visitors):
        vid = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        device, browser, os_name, _w = _pick(rng, DEVICES)
        country = _pick(rng, COUNTRIES)[0]
        magnet = org.magnets[rng.random() < 0.35 and len(org.magnets) > 1]
        variant = ""
        if magnet.experiment_key:
            idx = choose_variant(magnet.experiment_key, vid, magnet.weights)
            variant = magnet.variants[idx] if idx is not None else ""
        t = start + rng.random() * days * DAY_MS
        channel = rng.choices(channels, shares)[0]
        first_touch[channel] += 1
        converted = exposed = False
        visit = 0
        while t < now_ms:
            visit += 1
            touches[channel] += 1
            sid = uuid.UUID(int=rng.getrandbits(128), version=4).hex[:16]
            look = CHANNELS[channel][2]

            ctx = (vid, sid, look, channel, device, browser, os_name, country)

            def emit(event: str, ts: float, value: float = 0.0, url: str = "",
                     mag: str = "", exp: str = "", var: str = "", ctx: tuple[Any, ...] = ctx) -> None:
                rows.append(_row(rng, org, ctx, event, ts, value, url or f"{base}/", mag, exp, var))
                totals[event] += 1

            emit("pageview", t)
            t += rng.uniform(5_000, 60_000)
            landing = f"{base}/m/{magnet.slug}"
            emit("pageview", t, url=landing)
            if magnet.experiment_key and variant and not exposed:
                emit("exposure", t, url=landing, mag=magnet.magnet_id, exp=magnet.experiment_key, var=variant)
                arms[magnet.experiment_key][variant]["exposed"] += 1
                exposed = True
            emit("magnet_view", t, url=landing, mag=magnet.magnet_id, exp=magnet.experiment_key, var=variant)
            if not converted:
                p = magnet.base_rate * (1 + magnet.true_lift.get(variant, 0.0)) * CHANNELS[channel][1]
                p *= 1.0 if visit == 1 else 0.6
                if rng.random() < min(0.95, p * 1.6):
                    t += rng.uniform(10_000, 90_000)
                    emit("form_start", t, url=landing, mag=magnet.magnet_id, exp=magnet.experiment_key, var=variant)
                    if rng.random() < 1 / 1.6:
                        t += rng.uniform(10_000, 60_000)
                        emit("lead", t, url=landing, mag=magnet.magnet_id, exp=magnet.experiment_key, var=variant)
                        converted = True
                        if variant:
                            arms[magnet.experiment_key][variant]["converted"] += 1
                        if rng.random() < 0.7:
                            emit("confirmed", t + rng.uniform(60_000, 3_600_000), url=landing,
                                 mag=magnet.magnet_id, exp=magnet.experiment_key, var=variant)
            elif rng.random() < 0.15:
                value = round(math.exp(rng.gauss(4.2, 0.6)), 2)
                revenue += value
                emit("purchase", t + rng.uniform(60_000, 600_000), value=value,
                     url=f"{base}/checkout", mag=magnet.magnet_id, exp=magnet.experiment_key, var=variant)
            # a return visit? gaps are exponential, returning visitors are common
            if rng.random() > (0.45 if visit == 1 else 0.35):
                break
            t += rng.expovariate(1 / (2.5 * DAY_MS))
            channel = "direct" if rng.random() < 0.4 else rng.choices(channels, shares)[0]
    truth = {
        "org_id": org.org_id,
        "visitors": visitors,
        "events": len(rows),
        "event_counts": dict(totals),
        "revenue": round(revenue, 2),
        "channel_mix": dict(zip(channels, shares, strict=True)),
        "first_touch_counts": dict(first_touch),
        "touch_counts": dict(touches),
        "experiments": {
            m.experiment_key: {
                "magnet_id": m.magnet_id, "variants": m.variants, "weights": m.weights,
                "base_rate": m.base_rate, "true_lift": m.true_lift,
                "arms": {v: dict(c) for v, c in arms[m.experiment_key].items()},
            }
            for m in org.magnets if m.experiment_key
        },
    }
    return rows, truth


def _json_events(rows: list[Row]) -> Iterator[dict[str, Any]]:
    skip = {"org_id", "site_id", "received_at", "channel", "device", "browser", "os", "flags"}
    for row in rows:
        ev = {k: v for k, v in zip(COLUMN_NAMES, row, strict=True) if k not in skip and v not in ("", 0.0)}
        ev["event_id"] = str(uuid.UUID(bytes=row[0]))
        ev["ts"] = row[3]
        yield ev


def send_http(rows: list[Row], base_url: str, api_key: str, batch: int = 100,
              concurrency: int = 4) -> int:
    """POST rows as server-side batches; returns the number the collector accepted."""
    events = list(_json_events(rows))
    chunks = [events[i:i + batch] for i in range(0, len(events), batch)]
    headers = {"Authorization": f"Bearer {api_key}"}

    def post(client: httpx.Client, chunk: list[dict[str, Any]]) -> int:
        for attempt in range(8):
            r = client.post(f"{base_url}/v1/events", json={"events": chunk}, headers=headers)
            if r.status_code in (429, 503):
                time.sleep(min(5.0, 0.2 * 2**attempt))
                continue
            r.raise_for_status()
            body = r.json()
            if body["rejected"]:
                raise RuntimeError(f"collector rejected events: {body['rejected'][:3]}")
            return int(body["accepted"])
        raise RuntimeError("collector kept answering 429/503")

    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(concurrency) as pool:
        return sum(pool.map(lambda c: post(client, c), chunks))


def simulate(
    orgs: list[SeededOrg],
    visitors: int,
    days: int,
    *,
    seed: int,
    warehouse: Warehouse | None = None,
    base_url: str = "",
    truth_dir: Path | None = None,
) -> Truth:
    """Generate journeys for each org; write them directly (``warehouse``) or over HTTP."""
    rng = random.Random(seed)
    truth = Truth(seed=seed)
    now = int(time.time() * 1000)
    for i, org in enumerate(orgs):
        rows, t = generate(org, visitors, days, rng, now)
        rows.sort(key=lambda r: r[3])
        if warehouse is not None:
            for j in range(0, len(rows), 500_000):
                warehouse.insert_events(rows_to_arrow(rows[j:j + 500_000]), f"sim-{seed}-{i}-{j}")
        else:
            accepted = send_http(rows, base_url, org.api_key)
            if accepted != len(rows):
                raise RuntimeError(f"sent {len(rows)} events, collector accepted {accepted}")
        truth.orgs[org.slug] = t
        log.info("simulated %d events for %s", len(rows), org.slug)
    if truth_dir is not None:
        truth_dir.mkdir(parents=True, exist_ok=True)
        (truth_dir / f"truth-{seed}.json").write_text(truth.to_json())
        (truth_dir / "latest.json").write_text(truth.to_json())
    return truth
