"""Erasure of one person from 10M events on the embedded lake (target ≤ 60 s), beside an
anchor measured in the same run: one full read of the same lake (every column of every
event, ``sum(cityHash64(*))``). Then the verification pass: the byte scan of the lake.

Events are generated column-wise with pyarrow (not the simulator): 20 files of 500k rows,
one year, 1M visitors; the person has 200 events spread over every file, plus one whose
props carry their email under another visitor id.

    python benchmarks/erasure.py [EVENTS]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kernel.metadata.audit import Actor  # noqa: E402
from kernel.metadata.enums import MagnetType  # noqa: E402
from kernel.metadata.models import LeadMagnet, Organization  # noqa: E402
from kernel.schema import ARROW_SCHEMA  # noqa: E402
from kernel.settings import load_settings  # noqa: E402
from kernel.warehouse.lake_backend import LakeWarehouse  # noqa: E402
from leads import service  # noqa: E402
from lodestone.services import init_storage, session_factory  # noqa: E402
from privacy import requests, scan  # noqa: E402

EMAIL = "erase.me@example.com"
VISITOR = "v-erase-me-0001"
FILE_ROWS = 500_000
T0 = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)


def _file(org: str, k: int, n: int, rng: np.random.Generator) -> pa.Table:
    ids = rng.integers(0, 1_000_000, n)
    visitors = pc.binary_join_element_wise("v", pc.cast(pa.array(ids), pa.string()), "")
    mine = np.arange(0, n, max(1, n // 10))  # 10 of the person's events in every file
    visitors = pc.replace_with_mask(visitors, pa.array(np.isin(np.arange(n), mine)),
                                    pa.array([VISITOR] * len(mine)))
    ts = pa.array(T0 + rng.integers(0, 365 * 86_400_000, n)).cast(pa.timestamp("ms", tz="UTC"))
    uuids = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, pa.py_buffer(
        rng.bytes(16 * n))])
    props = pa.array(["{}"] * n) if k else pa.array(  # under a visitor id of its own
        ["{}", json.dumps({"email": EMAIL})] + ["{}"] * (n - 2))
    const = {"org_id": org, "site_id": "site_1", "session_id": "", "magnet_id": "mag_1",
             "experiment_id": "", "variant": "", "referrer": "", "utm_source": "google",
             "utm_medium": "cpc", "utm_campaign": "brand", "utm_term": "", "utm_content": "",
             "channel": "Paid Search", "device": "desktop", "browser": "Chrome", "os": "Linux",
             "country": "DE"}
    cols = {
        "event_id": pa.ExtensionArray.from_storage(pa.uuid(), uuids), "ts": ts, "received_at": ts,
        "event": pa.array(np.array(["pageview", "magnet_view", "lead"])[ids % 3]),
        "visitor_id": visitors, "props": props, "value": pa.array(np.zeros(n)),
        "url": pc.binary_join_element_wise("https://example.com/p",
                                           pc.cast(pa.array(ids % 100), pa.string()), ""),
        "flags": pa.array(np.full(n, 4, dtype=np.uint16)),
    }
    arrays = [cols[f.name] if f.name in cols else pa.array([const[f.name]] * n, pa.string())
              for f in ARROW_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


def main(events: int = 10_000_000) -> int:
    with tempfile.TemporaryDirectory(prefix="lodestone-erasure-") as tmp:
        settings = load_settings(data_dir=Path(tmp), env="test",
                                 secret_key="benchmark-secret-0123456789abcdef")
        init_storage(settings)
        sessions = session_factory(settings)
        with sessions() as s:
            org = Organization(name="Bench", slug="bench")
            s.add(org)
            s.flush()
            magnet = LeadMagnet(org_id=org.id, name="Kit", slug="kit", type=MagnetType.EBOOK)
            s.add(magnet)
            s.flush()
            service.create_lead(s, org.id, Actor.system("bench"), magnet_id=magnet.id,
                                email=EMAIL, visitor_id=VISITOR)
            s.commit()
            org_id = org.id
        wh = LakeWarehouse(settings.lake_dir)
        rng = np.random.default_rng(7)
        t = time.perf_counter()
        for k in range(0, events, FILE_ROWS):
            wh.events.append(_file(org_id, k, min(FILE_ROWS, events - k), rng), name=f"bench-{k}")
        print(f"generated {events:,} events in {len(wh.events.files())} files "
              f"({time.perf_counter() - t:.1f} s)")
        wh.scalar("SELECT 1")  # start chDB before timing anything
        load0 = os.getloadavg()[0]
        t, c = time.perf_counter(), time.process_time()
        wh.scalar("SELECT sum(cityHash64(*)) FROM {{ source('events') }}")
        anchor, anchor_cpu = time.perf_counter() - t, time.process_time() - c
        with sessions() as s:
            req = requests.request(s, org_id, Actor.system("bench"), settings, "erase",
                                   email=EMAIL)
            s.commit()
        t, c = time.perf_counter(), time.process_time()
        marks: list[tuple[str, float]] = []
        steps = requests.run_erasure(sessions, settings, req.id, wh, progress=lambda _f, m:
                                     marks.append((m.removeprefix("erasing: "),
                                                   time.perf_counter())))
        took, took_cpu = time.perf_counter() - t, time.process_time() - c
        ends = [m[1] for m in marks[1:]] + [t + took]
        print("erasure steps: " + ", ".join(f"{name} {end - at:.1f} s"
                                            for (name, at), end in zip(marks, ends, strict=True)))
        left = wh.count_events()
        t, c = time.perf_counter(), time.process_time()
        hits = scan.scan_files(settings.lake_dir, [EMAIL, VISITOR])
        scanned, scanned_cpu = time.perf_counter() - t, time.process_time() - c
        load1 = os.getloadavg()[0]
        wh.close()
        removed = steps["warehouse"].get("events", 0)
        print(f"machine: {os.cpu_count()} cores, load average {load0:.1f} before the anchor, "
              f"{load1:.1f} after the scan (wall time stretches with load; the ratio less)")
        print(f"anchor: full read of the lake            {anchor:6.1f} s (cpu {anchor_cpu:5.1f} s)")
        print(f"erasure of one person ({removed} events)   {took:6.1f} s (cpu {took_cpu:5.1f} s)"
              f"  {took / anchor:.2f} x the full read (cpu {took_cpu / anchor_cpu:.2f} x); "
              "target <= 60 s: "
              f"{'met' if took <= 60 else 'NOT met'}")
        print(f"verification: byte scan of the lake      {scanned:6.1f} s (cpu {scanned_cpu:5.1f} s)"
              f"  {scanned / anchor:.2f} x (cpu {scanned_cpu / anchor_cpu:.2f} x), hits: {len(hits)}")
        print(f"events left {left:,} (of {events:,}); steps {steps}")
        ok = took <= 60 and not hits and left == events - removed
        return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000))
