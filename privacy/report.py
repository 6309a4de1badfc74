"""The compliance report of an organization for a period: what a DPO hands an auditor.

:func:`build` reads everything from the metadata database and the running configuration:
the record of processing activities (privacy.register), consent per purpose (from the
append-only consent records), data-subject requests with their durations, what retention
removed (the retention job's audit entries), recipients and sub-processors (webhook
endpoints and the configured SMTP relay, artifact store, warehouse and AI endpoint), and the
security measures in force. No personal data: requests appear by id and kind only, hosts
without credentials. Rendered as JSON by the API and as a PDF by privacy.report_pdf.
"""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ingestion.enrich import SALT_KEEP_SECONDS
from kernel import pii
from kernel.crypto import key_id
from kernel.errors import DomainError
from kernel.metadata.base import Base
from kernel.metadata.models import (
    AuditLog,
    ConsentRecord,
    Organization,
    OrgDataKey,
    PrivacyRequest,
    RetentionPolicy,
    WebhookEndpoint,
)
from kernel.metadata.sealed import Sealed
from kernel.metadata.types import utcnow
from kernel.secret_file import MIN_ENTROPY_BITS, entropy_bits, parse_master_key
from kernel.settings import Settings
from leads import consent
from privacy import register
from privacy.register import host_of

MAX_SPAN_DAYS = 3660
KINDS = ("export", "erase")


class ReportError(DomainError):
    code = "invalid"


def period(start: dt.date | None, end: dt.date | None,
           today: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    """``[start 00:00, end+1 00:00)`` in UTC; defaults: the 365 days ending today.

    Raises:
        ReportError: end before start, or a span over ten years.
    """
    end = end or today or utcnow().date()
    start = start or end - dt.timedelta(days=364)
    if end < start:
        raise ReportError(f"end ({end}) is before start ({start})", [{"field": "end"}])
    if (end - start).days > MAX_SPAN_DAYS:
        raise ReportError(f"a report covers at most {MAX_SPAN_DAYS} days; split the period",
                          [{"field": "start"}])
    lo = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    return lo, dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def consent_rates(session: Session, org_id: str, lo: dt.datetime,
                  hi: dt.datetime) -> list[dict[str, Any]]:
    """Per purpose: how often it was shown (a grant or a decline recorded in the period),
    granted, declined, withdrawn (a refusal after a grant of the same lead or visitor), and
    people with it granted at the end of the period (their newest record wins).

    One query with window functions (SQLite >= 3.25 and PostgreSQL), so the work stays in
    the database however many records there are.
    """
    r = ConsentRecord
    person = (r.purpose, r.lead_id, r.visitor_id)
    order = (r.created_at, r.id)
    seq = (sa.select(
        r.purpose, r.granted, r.created_at,
        sa.func.lag(r.granted).over(partition_by=person, order_by=order).label("prev"),
        sa.func.row_number().over(partition_by=person,
                                  order_by=tuple(c.desc() for c in order)).label("newest"))
        .where(r.org_id == org_id, r.created_at < hi).subquery())
    in_period = seq.c.created_at >= lo

    def count(*conditions: Any) -> Any:
        return sa.func.sum(sa.case((sa.and_(*conditions), 1), else_=0))

    rows = session.execute(sa.select(
        seq.c.purpose,
        count(in_period, seq.c.granted.is_(True)),
        count(in_period, seq.c.granted.is_(False), seq.c.prev.is_(True)),
        count(in_period, seq.c.granted.is_(False), sa.or_(seq.c.prev.is_(None),
                                                          seq.c.prev.is_(False))),
        count(seq.c.newest == 1, seq.c.granted.is_(True)))
        .group_by(seq.c.purpose)).all()
    stats = {key: {"granted": int(g or 0), "withdrawn": int(w or 0), "declined": int(d or 0),
                   "granted_at_end": int(e or 0)} for key, g, w, d, e in rows}
    known = consent.purposes(session, org_id)
    names = {p.key: (p.name, p.version) for p in known}
    keys = [p.key for p in known] + sorted(set(stats) - set(names))
    out = []
    for key in keys:
        s = stats.get(key, {"granted": 0, "withdrawn": 0, "declined": 0, "granted_at_end": 0})
        shown = s["granted"] + s["declined"]
        name, version = names.get(key, (key, None))
        out.append({"key": key, "name": name, "text_version": version, "shown": shown,
                    "granted": s["granted"], "declined": s["declined"],
                    "withdrawn": s["withdrawn"], "consent_rate": _rate(s["granted"], shown),
                    "granted_at_end": s["granted_at_end"]})
    return out


def _seconds(a: dt.datetime, b: dt.datetime) -> float:
    return round((b - a).total_seconds(), 3)


def requests_summary(session: Session, org_id: str, lo: dt.datetime,
                     hi: dt.datetime) -> dict[str, Any]:
    """Data-subject requests received in the period and completed in it, by kind, with the
    median and longest time from receipt to completion (seconds)."""
    rows = session.scalars(sa.select(PrivacyRequest).where(
        PrivacyRequest.org_id == org_id,
        sa.or_(sa.and_(PrivacyRequest.created_at >= lo, PrivacyRequest.created_at < hi),
               sa.and_(PrivacyRequest.completed_at >= lo, PrivacyRequest.completed_at < hi)))
        .order_by(PrivacyRequest.created_at, PrivacyRequest.id)).all()
    by_kind: dict[str, dict[str, Any]] = {}
    listed = []
    for kind in sorted(set(KINDS) | {r.kind for r in rows}):
        mine = [r for r in rows if r.kind == kind]
        received = [r for r in mine if lo <= r.created_at < hi]
        done = [r for r in mine if r.status == "done" and r.completed_at is not None
                and lo <= r.completed_at < hi]
        durations = [_seconds(r.created_at, r.completed_at) for r in done
                     if r.completed_at is not None]
        by_kind[kind] = {
            "received": len(received), "completed": len(done),
            "failed": sum(r.status == "failed" for r in received),
            "open": sum(r.status == "pending" for r in received),
            "median_seconds": round(statistics.median(durations), 3) if durations else None,
            "max_seconds": max(durations) if durations else None}
    for r in rows:
        listed.append({"id": r.id, "kind": r.kind, "status": r.status,
                       "received_at": r.created_at.isoformat(),
                       "completed_at": r.completed_at.isoformat() if r.completed_at else None,
                       "duration_seconds": _seconds(r.created_at, r.completed_at)
                       if r.completed_at else None})
    return {"by_kind": by_kind, "requests": listed}


def retention_summary(session: Session, org_id: str, lo: dt.datetime,
                      hi: dt.datetime) -> dict[str, Any]:
    """The policy in force and what the retention job removed in the period (its audit
    entries ``retention.applied``)."""
    policy = session.scalars(sa.select(RetentionPolicy)
                             .where(RetentionPolicy.org_id == org_id)).first()
    runs = session.scalars(sa.select(AuditLog).where(
        AuditLog.org_id == org_id, AuditLog.action == "retention.applied",
        AuditLog.created_at >= lo, AuditLog.created_at < hi)
        .order_by(AuditLog.created_at, AuditLog.id)).all()
    applied = [{"at": (e.after or {}).get("at") or e.created_at.isoformat(),
                "events": int((e.after or {}).get("events") or 0),
                "leads": int((e.after or {}).get("leads") or 0)} for e in runs]
    return {
        "raw_events_days": policy.raw_events_days if policy else None,
        "raw_events_days_by_region": dict(sorted((policy.regions or {}).items())) if policy else {},
        "unconfirmed_leads_days": policy.unconfirmed_leads_days if policy else None,
        "webhook_deliveries_days": None,  # filled by build() from the settings
        "runs": len(applied), "events_removed": sum(a["events"] for a in applied),
        "leads_removed": sum(a["leads"] for a in applied), "applied": applied}


def recipients(session: Session, org_id: str, settings: Settings) -> list[dict[str, Any]]:
    """Who receives personal data: the organization's webhook endpoints and the services
    this installation is configured to use (hosts only, never credentials)."""
    out: list[dict[str, Any]] = []
    for h in session.scalars(sa.select(WebhookEndpoint).where(WebhookEndpoint.org_id == org_id)
                             .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)):
        out.append({"kind": "webhook endpoint", "name": h.description or h.id,
                    "host": host_of(h.url), "active": bool(h.is_active),
                    "data": "lead and event notifications: "
                            + (", ".join(h.event_types) if h.event_types else "all event types")})
    if settings.smtp_url:
        out.append({"kind": "SMTP relay", "name": "mail delivery",
                    "host": host_of(settings.smtp_url), "active": True,
                    "data": "recipient address, name, message content"})
    if settings.artifacts_url.startswith(("s3://", "s3a://")):
        bucket = settings.artifacts_url.split("://", 1)[1].split("/", 1)[0]
        out.append({"kind": "S3 artifact store", "name": f"bucket {bucket}", "host": bucket,
                    "active": True, "data": "built files (personalised ones name the lead)"})
    if settings.warehouse_url.startswith(("http://", "https://")):
        out.append({"kind": "ClickHouse server", "name": "event warehouse",
                    "host": host_of(settings.warehouse_url), "active": True,
                    "data": "events with cookieless visitor ids"})
    if settings.openai_base_url:
        out.append({"kind": "AI endpoint (OpenAI-compatible)", "name": settings.openai_model,
                    "host": host_of(settings.openai_base_url), "active": True,
                    "data": f"prompts, personal data screened (PII policy {settings.pii_policy})"})
    return out


def sealed_fields() -> list[str]:
    """Every column the models store only encrypted (their ``Sealed`` attributes)."""
    return sorted(f"{m.class_.__tablename__}.{name}" for m in Base.registry.mappers
                  for name, attr in vars(m.class_).items() if isinstance(attr, Sealed))


def security(session: Session, org: Organization, settings: Settings) -> dict[str, Any]:
    """Security measures read from the running configuration and the organization's keys."""
    current = key_id(parse_master_key(settings.master_key))
    old = [key_id(parse_master_key(k)) for k in settings.master_keys_old.split(",")
           if k.strip()]
    data_key = session.get(OrgDataKey, org.id)
    bits = entropy_bits(settings.secret_key)
    return {
        "encryption_at_rest": {
            "enabled": True, "algorithm": "AES-256-GCM, envelope keys per organization",
            "fields": sealed_fields(),
            "master_key_id": current, "old_master_key_ids": old,
            "data_key_version": data_key.version if data_key else None,
            "data_key_wrapped_by": data_key.master_key_id if data_key else None,
            "data_key_rotated_at": data_key.rotated_at.isoformat()
            if data_key and data_key.rotated_at else None,
            "data_key_on_current_master": bool(data_key and data_key.master_key_id == current),
            "email_lookup": "blind index (HMAC-SHA256, key derived per organization)"},
        "pii_policy": {"installation": settings.pii_policy,
                       "organization": pii.org_policy(org.settings, settings.pii_policy)},
        "ip_handling": {
            "raw_ip_stored": False,
            "visitor_id": "keyed hash of (daily salt, organization, IP, user agent)",
            "salt_lifetime_hours": SALT_KEEP_SECONDS / 3600,
            "audit_log_ip": "HMAC-SHA256 under the secret key",
            "dnt_gpc_honoured": True},
        "tracking": {"consent_mode": org.consent_mode.value,
                     "cookieless_ids": org.consent_mode.value == "cookieless"},
        "sessions": {"session_ttl_seconds": settings.api_session_ttl_s,
                     "token_ttl_seconds": settings.api_token_ttl_s,
                     "login_max_failures": settings.api_login_max_failures,
                     "login_window_seconds": settings.api_login_window_s,
                     "api_rate_limit_per_minute": settings.api_rate_limit_per_minute},
        "secrets": {"environment": settings.env.value,
                    "secret_key_entropy_bits": round(bits),
                    "secret_key_strong": bits >= MIN_ENTROPY_BITS,
                    "secret_key_min_bits": MIN_ENTROPY_BITS,
                    "metrics_token_set": bool(settings.metrics_token),
                    "dkim_signing": bool(settings.dkim_selector and settings.dkim_key_file),
                    "smtp_tls": settings.smtp_url.startswith("smtps://"),
                    "public_url_https": settings.public_url.startswith("https://"),
                    "webhooks_to_private_networks": settings.webhooks_allow_private},
        "data_subject_rights": {
            "export_archive_ttl_hours": settings.privacy_export_ttl_hours,
            "metadata_backend": "postgresql" if settings.resolved_metadata_url.startswith(
                "postgresql") else "sqlite"},
    }


def build(session: Session, org_id: str, settings: Settings, start: dt.date | None = None,
          end: dt.date | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """The whole report (JSON-safe) for ``[start, end]`` (dates, inclusive, UTC)."""
    now = now or utcnow()
    lo, hi = period(start, end, now.date())
    org = session.get(Organization, org_id)
    if org is None:
        raise ReportError(f"no organization {org_id}")
    activities, source = register.register(session, org_id, settings)
    retained = retention_summary(session, org_id, lo, hi)
    retained["webhook_deliveries_days"] = settings.webhooks_retention_days
    return {
        "organization": {"id": org.id, "name": org.name, "slug": org.slug},
        "period": {"start": lo.date().isoformat(),
                   "end": (hi - dt.timedelta(days=1)).date().isoformat()},
        "generated_at": now.isoformat(timespec="seconds"),
        "processing_activities": {"source": source, "data": [
            {**a.as_dict(), "created_at": a.created_at.isoformat() if a.created_at else None,
             "updated_at": a.updated_at.isoformat() if a.updated_at else None}
            for a in activities]},
        "purposes": consent_rates(session, org_id, lo, hi),
        "requests": requests_summary(session, org_id, lo, hi),
        "retention": retained,
        "recipients": recipients(session, org_id, settings),
        "security": security(session, org, settings),
    }
