"""Retention on a simulated year: the Dagster job drops an organization's raw events older
than its policy (lake files rewritten or dropped) and its long-unconfirmed leads; another
organization, recent events, confirmed leads and erasure tombstones are kept."""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa

from kernel.events import make_row, rows_to_arrow
from kernel.metadata.audit import Actor
from kernel.metadata.enums import MagnetType
from kernel.metadata.models import Lead, LeadMagnet, Organization, PrivacyRequest, RetentionPolicy
from kernel.settings import Settings
from kernel.warehouse import open_warehouse
from lodestone.services import init_storage, session_factory
from orchestration.resources import MetadataResource, WarehouseResource
from orchestration.retention import retention
from privacy.retention import set_policy

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAY_MS = 86_400_000


def _org(s, name: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    org = Organization(name=name, slug=f"{name}-{secrets.token_hex(3)}")
    s.add(org)
    s.flush()
    magnet = LeadMagnet(org_id=org.id, name="Kit", slug="kit", type=MagnetType.EBOOK)
    s.add(magnet)
    s.flush()
    return org.id, magnet.id


def test_retention_job_on_a_year_of_data(settings: Settings) -> None:
    init_storage(settings)
    sessions = session_factory(settings)
    with sessions() as s:
        keep_id, _ = _org(s, "keeper")
        org_id, magnet_id = _org(s, "short")
        for i, (age, confirmed) in enumerate([(60, False), (5, False), (200, True)]):
            s.add(Lead(org_id=org_id, magnet_id=magnet_id, email=f"l{i}@example.com",
                       created_at=NOW - dt.timedelta(days=age),
                       confirmed_at=NOW if confirmed else None))
        s.add(PrivacyRequest(org_id=org_id, kind="erase", status="done", subject={},
                             subject_hash="a" * 64, requested_by="x", steps={"metadata": 1},
                             created_at=NOW - dt.timedelta(days=300)))
        set_policy(s, org_id, Actor.system("test"), raw_events_days=90, unconfirmed_leads_days=30)
        s.commit()
    now_ms = int(NOW.timestamp() * 1000)
    wh = open_warehouse(settings)
    for month in range(12):  # a file per month, 3 events a day, for both organizations
        rows = [make_row(org_id=o, event="pageview", visitor_id=f"v{d % 7}",
                         ts=now_ms - d * DAY_MS - (6 + h) * 3_600_000,
                         received_at=now_ms - d * DAY_MS)
                for o in (org_id, keep_id) for d in range(month * 30 + 1, month * 30 + 31)
                for h in range(3)]
        wh.insert_events(rows_to_arrow(rows), f"month-{month}")
    files_before = len(wh.events.files())
    wh.close()

    result = retention.execute_in_process(resources={
        "warehouse": WarehouseResource(data_dir=str(settings.data_path)),
        "metadata": MetadataResource(metadata_url=settings.resolved_metadata_url)})
    assert result.success
    report = result.output_for_node("apply_retention")
    # days 90..360 are older than 90 days (6 h past a day boundary: no ties with the cutoff)
    assert report[org_id]["events"] == 271 * 3 and report[org_id]["leads"] == 1
    assert keep_id not in report  # no policy: nothing removed

    wh = open_warehouse(settings)
    counts = {r["o"]: (r["n"], r["oldest"]) for r in wh.query(
        "SELECT org_id AS o, count() AS n, min(ts) AS oldest FROM {{ source('events') }} "
        "GROUP BY o")}
    assert counts[org_id][0] == 89 * 3 and counts[keep_id][0] == 360 * 3
    assert counts[org_id][1].replace(tzinfo=dt.UTC) >= NOW - dt.timedelta(days=90)
    assert len(wh.events.files()) == files_before  # every file still holds the keeper's rows
    wh.close()
    with sessions() as s:
        emails = sorted(lead.email for lead in s.scalars(sa.select(Lead).where(Lead.org_id == org_id)))
        assert emails == ["l1@example.com", "l2@example.com"]
        assert s.scalar(sa.select(sa.func.count()).select_from(PrivacyRequest)) == 1
        policy = s.scalars(sa.select(RetentionPolicy).where(RetentionPolicy.org_id == org_id)).one()
        assert policy.last_run and policy.last_run["events"] == 813


def test_retention_by_visitor_region(settings: Settings) -> None:
    """EU visitors' events kept 30 days, France's own rule 60 days over the EU's, everyone
    else (the US, unknown country) 90 days; an unknown region is refused with its reason."""
    import pytest

    from kernel.errors import DomainError

    init_storage(settings)
    sessions = session_factory(settings)
    with sessions() as s:
        org_id, _ = _org(s, "regional")
        with pytest.raises(DomainError, match="unknown region 'EUROPE'"):
            set_policy(s, org_id, Actor.system("test"), raw_events_days=90,
                       unconfirmed_leads_days=None, regions={"EUROPE": 30})
        set_policy(s, org_id, Actor.system("test"), raw_events_days=90,
                   unconfirmed_leads_days=None, regions={"EU": 30, "fr": 60})
        s.commit()
    now_ms = int(NOW.timestamp() * 1000)
    ages = (10, 45, 75, 120)  # days; 6 h past a day boundary, so no ties with a cutoff
    rows = [make_row(org_id=org_id, event="pageview", visitor_id=f"{c}{a}", country=c,
                     ts=now_ms - a * DAY_MS - 6 * 3_600_000, received_at=now_ms - a * DAY_MS)
            for c in ("DE", "FR", "US", "") for a in ages]
    wh = open_warehouse(settings)
    wh.insert_events(rows_to_arrow(rows), "regions")
    wh.close()
    result = retention.execute_in_process(resources={
        "warehouse": WarehouseResource(data_dir=str(settings.data_path)),
        "metadata": MetadataResource(metadata_url=settings.resolved_metadata_url)})
    assert result.success
    wh = open_warehouse(settings)
    kept = {r["v"] for r in wh.query("SELECT visitor_id AS v FROM {{ source('events') }}")}
    wh.close()
    assert kept == {"DE10", "FR10", "FR45", "US10", "US45", "US75", "10", "45", "75"}
    assert result.output_for_node("apply_retention")[org_id]["events"] == 16 - 9
