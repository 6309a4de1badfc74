"""Traffic simulator: multi-touch journeys with known truth (channel mix, true lifts).

Events go through the real collector over HTTP (``/v1/events`` with the org's API key, so
backfilled timestamps are kept) or, with ``direct``, straight into the warehouse in bulk.
The ground truth is written beside the data so tests can check the analytics against it.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa

from kernel.events import Row
from kernel.schema import COLUMN_NAMES, FLAG_SIMULATED
from kernel.warehouse import Warehouse
from lodestone.journeys import (
    EventColumns,
    assign_variants,
    build_table,
    decode,
    hex_ids,
    uuid_column,
)
from lodestone.seed import SeededMagnet, SeededOrg

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
SEGMENT_ROWS = 2_000_000  # events per lake file written by the direct path

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


# GA4 default channel group of each simulated look (what the sessions model must find).
GA4_CHANNEL = {"search": "organic_search", "paid": "paid_search", "social": "organic_social",
               "email": "email", "referral": "referral", "direct": "direct"}
EVENTS = ("pageview", "magnet_view", "exposure", "form_start", "lead", "confirmed", "purchase")
PV, VIEW, EXPOSURE, FORM, LEAD, CONFIRMED, PURCHASE = range(len(EVENTS))
BASE_URL = "https://demo.lodestone.example"


def generate_table(org: SeededOrg, visitors: int, days: int, seed: int, now_ms: int
                   ) -> tuple[pa.Table, dict[str, Any]]:
    """All events of ``visitors`` journeys over the last ``days`` days (sorted by ``ts``)
    as an Arrow table in the event schema, and their truth. Vectorised: numpy per visit round.

    A visitor arrives through a channel drawn from the mix, views one magnet (35 % the
    second), may start the form and opt in (probability from the magnet's base rate, the
    variant's true lift and the channel's multiplier; 0.6x on return visits), confirms 70 %
    of opt-ins, and after opting in buys in 15 % of later visits. 45 % come back after the
    first visit and 35 % after later ones, an exponential 2.5 days later, 40 % directly.
    """
    g = np.random.default_rng(seed)
    names = list(CHANNELS)
    shares = np.array([CHANNELS[c][0] for c in names])
    mult = np.array([CHANNELS[c][1] for c in names])
    n_ch, direct = len(names), names.index("direct")
    mags = org.magnets
    start = now_ms - days * DAY_MS
    vids = hex_ids(g, visitors)
    dev = g.choice(len(DEVICES), visitors, p=[d[-1] for d in DEVICES])
    country = g.choice(len(COUNTRIES), visitors, p=[c[-1] for c in COUNTRIES])
    mag = ((g.random(visitors) < 0.35) & (len(mags) > 1)).astype(np.int64)
    var = np.full(visitors, -1, dtype=np.int64)
    lift = np.zeros(visitors)
    for i, m in enumerate(mags):
        sel = np.flatnonzero(mag == i)
        if m.experiment_key and sel.size:
            var[sel] = assign_variants(m.experiment_key, vids.take(pa.array(sel)), m.weights)
            lifts = np.array([m.true_lift.get(v, 0.0) for v in m.variants] + [0.0])
            lift[sel] = lifts[var[sel]]
    rate = np.array([m.base_rate for m in mags])[mag] * (1 + lift)
    t = start + g.random(visitors) * days * DAY_MS
    ch = g.choice(n_ch, visitors, p=shares)
    first_ch = ch.copy()
    alive = np.ones(visitors, dtype=bool)
    converted, exposed = np.zeros(visitors, bool), np.zeros(visitors, bool)
    reached = np.zeros((len(EVENTS), visitors), dtype=bool)
    confirmed_at = np.full(visitors, np.inf)
    touches, lead_last = np.zeros(n_ch, np.int64), np.zeros(n_ch, np.int64)
    ev = EventColumns.empty()
    n_sessions, visit = 0, 0
    while True:
        visit += 1
        idx = np.flatnonzero(alive & (t < now_ms))
        n = idx.size
        if n == 0:
            break
        sess = np.arange(n_sessions, n_sessions + n)
        n_sessions += n
        c = ch[idx]
        touches += np.bincount(c, minlength=n_ch)
        every = np.ones(n, dtype=bool)
        landing = (1 + mag[idx]).astype(np.int8)
        t0 = t[idx]
        t1 = t0 + g.uniform(5_000, 60_000, n)
        ev.add(every, idx, sess, PV, t0, c, 0, False)
        ev.add(every, idx, sess, PV, t1, c, landing, False)
        first_exposure = (var[idx] >= 0) & ~exposed[idx]
        exposed[idx[first_exposure]] = True
        ev.add(first_exposure, idx, sess, EXPOSURE, t1, c, landing, True)
        ev.add(every, idx, sess, VIEW, t1, c, landing, True)
        open_ = ~converted[idx]
        p = rate[idx] * mult[c] * (1.0 if visit == 1 else 0.6)
        form = open_ & (g.random(n) < np.minimum(0.95, p * 1.6))
        t2 = t1 + g.uniform(10_000, 90_000, n)
        ev.add(form, idx, sess, FORM, t2, c, landing, True)
        lead = form & (g.random(n) < 1 / 1.6)
        t3 = t2 + g.uniform(10_000, 60_000, n)
        ev.add(lead, idx, sess, LEAD, t3, c, landing, True)
        converted[idx[lead]] = True
        lead_last += np.bincount(c[lead], minlength=n_ch)
        confirm = lead & (g.random(n) < 0.7)
        t4 = t3 + g.uniform(60_000, 3_600_000, n)
        ev.add(confirm, idx, sess, CONFIRMED, t4, c, landing, True)
        confirmed_at[idx[confirm]] = t4[confirm]
        buy = ~open_ & (g.random(n) < 0.15)
        value = np.round(np.exp(g.normal(4.2, 0.6, n)), 2)
        t5 = t1 + g.uniform(60_000, 600_000, n)
        ev.add(buy, idx, sess, PURCHASE, t5, c, len(mags) + 1, True, value)
        # the funnel is strict: a purchase counts once the opt-in is confirmed
        for kind, mask in ((VIEW, every), (FORM, form), (LEAD, lead), (CONFIRMED, confirm),
                           (PURCHASE, buy & (t5 >= confirmed_at[idx]))):
            reached[kind, idx[mask]] = True
        alive[idx[g.random(n) > (0.45 if visit == 1 else 0.35)]] = False
        t[idx] = np.where(lead, t3, np.where(form, t2, t1)) + g.exponential(2.5 * DAY_MS, n)
        ch[idx] = np.where(g.random(n) < 0.4, direct, g.choice(n_ch, n, p=shares))
    cols = ev.sorted()
    table = _assemble(g, org, cols, vids, hex_ids(g, n_sessions, 16), mag, var, dev, country,
                      names)
    kinds = np.bincount(cols["kind"].astype(np.int64), minlength=len(EVENTS))
    vcount = lambda mask: {k: int(v) for k, v in zip(names, np.bincount(  # noqa: E731
        mask, minlength=n_ch), strict=True) if v}
    truth = {
        "org_id": org.org_id,
        "visitors": visitors,
        "events": table.num_rows,
        "event_counts": {e: int(kinds[i]) for i, e in enumerate(EVENTS) if kinds[i]},
        "revenue": round(float(cols["value"].sum()), 2),
        "start_ms": start,
        "now_ms": now_ms,
        "channel_mix": dict(zip(names, shares.tolist(), strict=True)),
        "ga4_channel": GA4_CHANNEL,
        "first_touch_counts": vcount(first_ch),
        "touch_counts": {k: int(v) for k, v in zip(names, touches, strict=True) if v},
        "lead_first_touch_counts": vcount(first_ch[converted]),
        "lead_last_touch_counts": {k: int(v) for k, v in zip(names, lead_last, strict=True) if v},
        "funnels": _funnel_truth(mags, mag, var, reached),
        "experiments": {
            m.experiment_key: {
                "magnet_id": m.magnet_id, "variants": m.variants, "weights": m.weights,
                "base_rate": m.base_rate, "true_lift": m.true_lift,
                "arms": {v: {"exposed": int(((mag == i) & (var == j) & exposed).sum()),
                             "converted": int(((mag == i) & (var == j) & converted).sum())}
                         for j, v in enumerate(m.variants)},
            }
            for i, m in enumerate(mags) if m.experiment_key
        },
    }
    return table, truth


def _funnel_truth(mags: list[SeededMagnet], mag: np.ndarray, var: np.ndarray,
                  reached: np.ndarray) -> dict[str, dict[str, dict[str, int]]]:
    """Visitors reaching each funnel step in order (view, form start, lead, confirmed, then a
    purchase after the confirmation), per magnet and variant ('' without a test)."""
    steps = {"view": VIEW, "form_start": FORM, "lead": LEAD, "confirmed": CONFIRMED,
             "purchase": PURCHASE}
    out: dict[str, dict[str, dict[str, int]]] = {}
    for i, m in enumerate(mags):
        arms = [(v, var == j) for j, v in enumerate(m.variants)] or [("", var < 0)]
        out[m.magnet_id] = {v: {s: int((reached[k] & (mag == i) & sel).sum())
                                for s, k in steps.items()} for v, sel in arms}
    return out


def _assemble(g: np.random.Generator, org: SeededOrg, cols: dict[str, np.ndarray],
              vids: pa.StringArray, sids: pa.StringArray, mag: np.ndarray, var: np.ndarray,
              dev: np.ndarray, country: np.ndarray, channels: list[str]) -> pa.Table:
    n = len(cols["ts"])
    who = cols["visitor"].astype(np.int64)
    on = cols["on_magnet"].astype(bool)
    mags = org.magnets
    variant_names = [""] + [v for m in mags for v in m.variants]
    first_variant = np.cumsum([1] + [len(m.variants) for m in mags])[:-1]
    vcode = np.where(var >= 0, first_variant[mag] + var, 0)
    ts = pa.array(np.floor(cols["ts"]).astype(np.int64)).cast(pa.timestamp("ms", tz="UTC"))
    look = [CHANNELS[c][2] for c in channels]
    chan = cols["channel"].astype(np.int64)
    mcode = np.where(on, mag[who] + 1, 0)
    return build_table({
        "event_id": uuid_column(g, n),
        "org_id": decode(np.zeros(n, np.int32), [org.org_id]),
        "site_id": decode(np.zeros(n, np.int32), [org.site_id]),
        "ts": ts,
        "received_at": ts,
        "event": decode(cols["kind"], EVENTS),
        "visitor_id": vids.take(pa.array(who)),
        "session_id": sids.take(pa.array(cols["session"].astype(np.int64))),
        "magnet_id": decode(mcode, [""] + [m.magnet_id for m in mags]),
        "experiment_id": decode(mcode, [""] + [m.experiment_key for m in mags]),
        "variant": decode(np.where(on, vcode[who], 0), variant_names),
        "url": decode(cols["url"], [f"{BASE_URL}/"] + [f"{BASE_URL}/m/{m.slug}" for m in mags]
                      + [f"{BASE_URL}/checkout"]),
        **{k: decode(chan, [lk.get(k, "") for lk in look])
           for k in ("referrer", "utm_source", "utm_medium", "utm_campaign")},
        "channel": decode(chan, channels),
        "device": decode(dev[who], [d[0] for d in DEVICES]),
        "browser": decode(dev[who], [d[1] for d in DEVICES]),
        "os": decode(dev[who], [d[2] for d in DEVICES]),
        "country": decode(country[who], [c[0] for c in COUNTRIES]),
        "value": pa.array(cols["value"], pa.float64()),
        "flags": pa.array(np.full(n, FLAG_SIMULATED, dtype=np.uint16)),
    })


def generate(
    org: SeededOrg, visitors: int, days: int, rng: random.Random, now_ms: int
) -> tuple[list[Row], dict[str, Any]]:
    """All events of ``visitors`` journeys as rows (for the HTTP path), and their truth."""
    table, truth = generate_table(org, visitors, days, rng.getrandbits(63), now_ms)
    return table_rows(table), truth


def table_rows(table: pa.Table) -> list[Row]:
    """Rows in column order (event_id as 16 bytes, times as int milliseconds)."""
    cols: list[list[Any]] = []
    for name in table.column_names:
        col = table[name].combine_chunks()
        if name == "event_id":
            col = col.storage
        elif pa.types.is_timestamp(col.type):
            col = col.cast(pa.int64())
        cols.append(col.to_pylist())
    return list(zip(*cols, strict=True))


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
        table, t = generate_table(org, visitors, days, rng.getrandbits(63), now)
        if warehouse is not None:
            for j in range(0, table.num_rows, SEGMENT_ROWS):
                warehouse.insert_events(table.slice(j, SEGMENT_ROWS), f"sim-{seed}-{i}-{j}")
        else:
            rows = table_rows(table)
            accepted = send_http(rows, base_url, org.api_key)
            if accepted != len(rows):
                raise RuntimeError(f"sent {len(rows)} events, collector accepted {accepted}")
        truth.orgs[org.slug] = t
        log.info("simulated %d events for %s", table.num_rows, org.slug)
    if truth_dir is not None:
        truth_dir.mkdir(parents=True, exist_ok=True)
        (truth_dir / f"truth-{seed}.json").write_text(truth.to_json())
        (truth_dir / "latest.json").write_text(truth.to_json())
    return truth
