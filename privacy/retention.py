"""Retention per organization: raw events older than N days and leads left unconfirmed for
N days are deleted; erasure records (tombstones) and aggregates are kept. Raw events may be
kept for a different number of days per visitor region (``regions``: a country code or a
group such as EU, privacy/jurisdictions.py), the jurisdiction whose rule applies to them.

``apply`` is what the daily Dagster job (orchestration/retention.py) runs. On the lake the
files holding an organization's old events are rewritten without them (a file with nothing
left leaves the manifest) and the old files are deleted; on ClickHouse a ``DELETE``
mutation per organization, awaited (a table-wide ``TTL`` cannot differ per organization).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import DomainError
from kernel.metadata.audit import Actor, record
from kernel.metadata.models import Lead, MailMessage, RetentionPolicy
from kernel.metadata.types import utcnow
from kernel.settings import Settings
from kernel.warehouse import Warehouse
from privacy.export import EXPORTS
from privacy.jurisdictions import days_by_country, problem
from privacy.stores.warehouse import _rewrite_files

MAX_DAYS = 36_500


def set_policy(session: Session, org_id: str, actor: Actor, *, raw_events_days: int | None,
               unconfirmed_leads_days: int | None,
               regions: dict[str, int] | None = None) -> RetentionPolicy:
    """Create or change the organization's policy (None: keep forever; ``regions``: days
    for raw events per visitor region, None or {} for none); the caller commits."""
    regions = {k.upper(): v for k, v in (regions or {}).items()}
    for name, v in (("raw_events_days", raw_events_days),
                    ("unconfirmed_leads_days", unconfirmed_leads_days),
                    *((f"regions.{k}", d) for k, d in regions.items())):
        if v is not None and not 1 <= v <= MAX_DAYS:
            raise DomainError(f"{name} must be between 1 and {MAX_DAYS} days, or null")
    for region in regions:
        why = problem(region)
        if why:
            raise DomainError(f"regions: {why}")
    policy = session.scalars(sa.select(RetentionPolicy).where(
        RetentionPolicy.org_id == org_id)).first()
    before = None if policy is None else {"raw_events_days": policy.raw_events_days,
                                          "unconfirmed_leads_days": policy.unconfirmed_leads_days,
                                          "regions": policy.regions or {}}
    if policy is None:
        policy = RetentionPolicy(org_id=org_id)
        session.add(policy)
    policy.raw_events_days, policy.unconfirmed_leads_days = raw_events_days, unconfirmed_leads_days
    policy.regions = regions
    session.flush()
    record(session, org_id=org_id, actor=actor, action="retention.updated",
           resource_type="retention_policy", resource_id=policy.id, before=before,
           after={"raw_events_days": raw_events_days,
                  "unconfirmed_leads_days": unconfirmed_leads_days, "regions": regions})
    return policy


def expiry_condition(now: dt.datetime, default_days: int | None,
                     regions: dict[str, int]) -> tuple[str, dict[str, Any]] | None:
    """ClickHouse SQL (with its parameters) true for the raw events the policy expires: per
    region, those older than the region's days; elsewhere (or country unknown) those older
    than ``default_days``. None when nothing expires."""
    by_days: dict[int, list[str]] = {}
    for code, days in sorted(days_by_country(regions).items()):
        by_days.setdefault(days, []).append(code)
    parts, params = [], {}
    for i, (days, codes) in enumerate(sorted(by_days.items())):
        parts.append(f"(has({{__c{i}:Array(String)}}, country) AND "
                     f"ts < {{__t{i}:DateTime64(3, 'UTC')}})")
        params.update({f"__c{i}": codes, f"__t{i}": now - dt.timedelta(days=days)})
    if default_days:
        parts.append("(NOT has({__ruled:Array(String)}, country) AND "
                     "ts < {__cut:DateTime64(3, 'UTC')})")
        params.update({"__ruled": [c for codes in by_days.values() for c in codes],
                       "__cut": now - dt.timedelta(days=default_days)})
    return (" OR ".join(parts), params) if parts else None


def _drop_events(wh: Warehouse, org_id: str, now: dt.datetime, default_days: int | None,
                 regions: dict[str, int]) -> int:
    expiry = expiry_condition(now, default_days, regions)
    if expiry is None:
        return 0
    where = f"org_id = {{__org:String}} AND ({expiry[0]})"
    params = {"__org": org_id, **expiry[1]}
    if wh.kind == "lake":
        return _rewrite_files(wh, wh.events, where, params)  # type: ignore[attr-defined]
    n = int(wh.client.query(f"SELECT count() FROM events WHERE {where}",
                            parameters=params).result_rows[0][0])
    if n:
        wh.client.command(f"ALTER TABLE events DELETE WHERE {where}", parameters=params,
                          settings={"mutations_sync": 2})
    return n


def apply(sessions: sessionmaker[Session], settings: Settings, wh: Warehouse,
          now: dt.datetime | None = None) -> dict[str, dict[str, Any]]:
    """Apply every organization's policy; ``{org_id: what was removed}``."""
    now = now or utcnow()
    report: dict[str, dict[str, Any]] = {}
    with sessions() as s:
        policies = [(p.org_id, p.raw_events_days, p.unconfirmed_leads_days, p.regions or {})
                    for p in s.scalars(sa.select(RetentionPolicy))]
    for org_id, event_days, lead_days, regions in policies:
        done: dict[str, Any] = {"at": now.isoformat(), "events": 0, "leads": 0}
        done["events"] = _drop_events(wh, org_id, now, event_days, regions)
        with sessions() as s:
            if lead_days:
                cutoff = now - dt.timedelta(days=lead_days)
                ids = list(s.scalars(sa.select(Lead.id).where(
                    Lead.org_id == org_id, Lead.confirmed_at.is_(None), Lead.created_at < cutoff)))
                s.execute(sa.delete(MailMessage).where(MailMessage.org_id == org_id,
                                                       MailMessage.lead_id.in_(ids)))
                s.execute(sa.delete(Lead).where(Lead.org_id == org_id, Lead.id.in_(ids)))
                done["leads"] = len(ids)
            s.execute(sa.update(RetentionPolicy).where(RetentionPolicy.org_id == org_id)
                      .values(last_run=done))
            record(s, org_id=org_id, actor=Actor.system("retention"), action="retention.applied",
                   resource_type="retention_policy", resource_id=None, after=done)
            s.commit()
        report[org_id] = done
    report["_exports"] = {"expired_archives": purge_expired_exports(settings, now)}
    return report


def purge_expired_exports(settings: Settings, now: dt.datetime) -> int:
    """Delete export archives past their expiry (their rows say when)."""
    from kernel.metadata.db import make_engine
    from kernel.metadata.models import PrivacyRequest

    directory = settings.data_path / EXPORTS
    if not directory.is_dir():
        return 0
    engine = make_engine(settings.resolved_metadata_url)
    try:
        with engine.connect() as conn:
            live = set(conn.scalars(sa.select(PrivacyRequest.id).where(
                PrivacyRequest.kind == "export", PrivacyRequest.downloaded_at.is_(None),
                PrivacyRequest.expires_at > now)))
    finally:
        engine.dispose()
    n = 0
    for path in directory.glob("*.zip"):
        if path.stem not in live:
            path.unlink(missing_ok=True)
            n += 1
    return n
