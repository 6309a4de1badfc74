"""The compliance report on a busy organization: N consent records (default 500k) and 2k
data-subject requests in SQLite, beside an anchor measured in the same run: one full scan
of the organization's consent records (``SELECT count(*), sum(granted) ...``). Then the PDF
render of that report.

    python benchmarks/compliance_report.py [RECORDS]
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kernel.metadata.db import make_engine, make_session_factory, migrate  # noqa: E402
from kernel.metadata.ids import new_id  # noqa: E402
from kernel.metadata.models import ConsentRecord, Organization, PrivacyRequest  # noqa: E402
from kernel.settings import load_settings  # noqa: E402
from privacy import report, report_pdf  # noqa: E402

PURPOSES = ("marketing_email", "product_updates", "analytics", "partner_sharing")
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def main(n: int) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/meta.db"
        settings = load_settings(data_dir=Path(tmp) / "data", env="test",
                                 secret_key="bench-secret-0123456789abcdef", metadata_url=url)
        engine = make_engine(url)
        migrate(engine)
        with make_session_factory(engine)() as s:
            org = Organization(name="Bench", slug="bench")
            s.add(org)
            s.flush()
            rows = []
            for i in range(n):
                rows.append({"id": new_id("cons"), "org_id": org.id, "lead_id": None,
                             "visitor_id": f"v{rng.randrange(n // 3 + 1)}",
                             "purpose": PURPOSES[i % 4], "text_version": 1,
                             "granted": rng.random() < 0.6, "source": "form", "proof": "0" * 64,
                             "created_at": START + dt.timedelta(seconds=rng.randrange(
                                 365 * 86400))})
            s.execute(sa.insert(ConsentRecord), rows)
            s.execute(sa.insert(PrivacyRequest), [
                {"id": new_id("prq"), "org_id": org.id, "kind": ("export", "erase")[i % 2],
                 "status": "done", "subject": {}, "subject_hash": "0" * 64,
                 "requested_by": "bench", "steps": {},
                 "created_at": START + dt.timedelta(hours=i),
                 "completed_at": START + dt.timedelta(hours=i, seconds=rng.randrange(30, 9000))}
                for i in range(2000)])
            s.commit()
            t = time.perf_counter()
            s.execute(sa.select(sa.func.count(), sa.func.sum(sa.case(
                (ConsentRecord.granted.is_(True), 1), else_=0))).where(
                ConsentRecord.org_id == org.id)).one()
            anchor = time.perf_counter() - t
            t = time.perf_counter()
            built = report.build(s, org.id, settings, dt.date(2026, 4, 1), dt.date(2026, 6, 30))
            took = time.perf_counter() - t
            t = time.perf_counter()
            pdf = report_pdf.pdf(built)
            render = time.perf_counter() - t
        engine.dispose()
    shown = sum(p["shown"] for p in built["purposes"])
    print(f"load average {os.getloadavg()[0]:.1f}; {n} consent records, 2000 requests")
    print(f"anchor: full scan of the records      {anchor:.3f} s")
    print(f"report.build (one quarter, {shown} shown)  {took:.3f} s  ({took / anchor:.1f}x)")
    print(f"PDF render ({len(pdf) // 1024} KiB)              {render:.3f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500_000)
