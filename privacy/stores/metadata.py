"""The metadata database: leads, mail, webhook outbox and deliveries, and every other text.

Rows that exist because of the person (their leads, mails, webhook events and deliveries,
suppression entries) are deleted. Anywhere else the person is only mentioned (an AI prompt,
a job's parameters, an audit note, a document), the mention is replaced by ``[erased]`` and
the row kept. The generic pass reads every text and JSON column of every organization-
scoped table, so a table added later is covered without changing this module.

On SQLite the erasure's connection deletes with ``secure_delete`` (freed pages are zeroed)
and the write-ahead log is checkpointed and truncated afterwards, so no old copy of a page
stays in the file (the byte scan checks it).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.metadata.base import Base
from kernel.metadata.models import (
    Lead,
    MailMessage,
    MailSuppression,
    OutboxEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from privacy.subject import Subject, pattern, redact
from publishing.mail.outbox import find_suppression

#: Tables the generic pass leaves alone: requests themselves (they hold only the pending
#: identifiers, cleared at the end), team accounts and credentials (not data subjects).
SKIP = frozenset({"privacy_requests", "users", "api_keys", "organizations"})
DELETED = frozenset({"leads", "mail_messages", "mail_suppressions", "outbox_events",
                     "webhook_deliveries"})
TEXT_TYPES = (sa.String, sa.Text, sa.JSON)


def _text_columns(table: sa.Table) -> list[sa.Column[Any]]:
    return [c for c in table.columns if isinstance(c.type, TEXT_TYPES)
            and not c.primary_key and c.name != "org_id" and not c.foreign_keys]


def _mentioning(session: Session, table: sa.Table, subject: Subject) -> list[sa.Row[Any]]:
    """Rows of ``table`` (the subject's organization) whose text mentions the subject."""
    needles = subject.needles
    cols = _text_columns(table)
    if not needles or not cols:
        return []
    cond = sa.or_(*(sa.func.lower(sa.cast(c, sa.Text)).contains(n.lower(), autoescape=True)
                    for c in cols for n in needles))
    rx = pattern(needles)
    assert rx is not None
    rows = session.execute(sa.select(table).where(table.c.org_id == subject.org_id, cond)).all()
    return [r for r in rows if any(redact(r._mapping[c.name], needles) != r._mapping[c.name]
                                   for c in cols)]


def _outbox_ids(session: Session, subject: Subject) -> list[str]:
    """Webhook events about the person: naming one of their leads or mentioning them.

    Payloads are stored encrypted (kernel.metadata.sealed), so SQL cannot search them: the
    organization's events are decrypted and searched here."""
    needles = [*subject.lead_ids, *subject.needles]
    rx = pattern(needles)
    if rx is None:
        return []
    ids = {r.id for r in _mentioning(session, Base.metadata.tables["outbox_events"], subject)}
    for ev in session.scalars(sa.select(OutboxEvent).where(OutboxEvent.org_id == subject.org_id)):
        if rx.search(json.dumps(ev.payload, default=str)):
            ids.add(ev.id)
    return sorted(ids)


def _mail_ids(session: Session, subject: Subject) -> list[str]:
    """Mails to the person: sent about one of their leads or to their (encrypted) address."""
    ids: set[str] = set()
    if subject.lead_ids:
        ids |= set(session.scalars(sa.select(MailMessage.id).where(
            MailMessage.org_id == subject.org_id, MailMessage.lead_id.in_(subject.lead_ids))))
    if subject.email:
        for m in session.scalars(sa.select(MailMessage).where(
                MailMessage.org_id == subject.org_id)):
            if (m.to_addr or "").strip().lower() == subject.email:
                ids.add(m.id)
    return sorted(ids)


def _suppression_ids(session: Session, subject: Subject) -> list[str]:
    """The person's entry on the suppression list: found by the blind index of their
    address (stored encrypted). Erasure deletes it, like every row that exists because of
    the person (docs/privacy.md)."""
    row = find_suppression(session, subject.org_id, subject.email) if subject.email else None
    return [row.id] if row is not None else []


def _mail_filter(session: Session, subject: Subject) -> sa.ColumnElement[bool]:
    return sa.and_(MailMessage.org_id == subject.org_id,
                   MailMessage.id.in_(_mail_ids(session, subject)))


def find(session: Session, subject: Subject) -> dict[str, list[dict[str, Any]]]:
    """Everything the metadata database holds about ``subject``, as JSON-safe records."""
    org = subject.org_id
    leads = session.scalars(sa.select(Lead).where(Lead.org_id == org,
                                                  Lead.id.in_(subject.lead_ids))).all()
    mails = session.scalars(sa.select(MailMessage).where(_mail_filter(session, subject))).all()
    outbox = _outbox_ids(session, subject)
    events = session.scalars(sa.select(OutboxEvent).where(OutboxEvent.org_id == org,
                                                          OutboxEvent.id.in_(outbox))).all()
    deliveries = session.execute(
        sa.select(WebhookDelivery, WebhookEndpoint.url).join(
            WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.org_id == org, WebhookDelivery.outbox_event_id.in_(outbox))).all()
    out: dict[str, list[dict[str, Any]]] = {
        "leads": [{**_row(lead), "email": lead.email, "name": lead.name, "fields": lead.fields}
                  for lead in leads],
        "mail_messages": [_row(m, ("id", "lead_id", "kind", "to_addr", "to_name", "subject",
                                   "text_body", "status", "created_at", "sent_at")) for m in mails],
        "webhook_events": [_row(e, ("id", "event_type", "payload", "created_at")) for e in events],
        "webhook_deliveries": [{**_row(d, ("id", "outbox_event_id", "attempt", "status",
                                           "response_status", "created_at")), "recipient": url}
                               for d, url in deliveries],
        "suppressions": [_row(s, ("email", "reason", "created_at"))
                         for s in session.scalars(sa.select(MailSuppression).where(
                             MailSuppression.id.in_(_suppression_ids(session, subject))))],
        "mentions": [],
    }
    for table in _generic_tables():
        for r in _mentioning(session, table, subject):
            cols = [c.name for c in _text_columns(table)]
            out["mentions"].append({"table": table.name, "id": r._mapping["id"],
                                    **{c: _jsonable(r._mapping[c]) for c in cols
                                       if redact(r._mapping[c], subject.needles)
                                       != r._mapping[c]}})
    return out


def erase(session: Session, subject: Subject) -> int:
    """Delete the person's rows and redact every mention; the caller commits. Returns rows."""
    org = subject.org_id
    outbox = _outbox_ids(session, subject)
    n = 0
    n += _delete(session, sa.delete(WebhookDelivery).where(
        WebhookDelivery.org_id == org, WebhookDelivery.outbox_event_id.in_(outbox)))
    n += _delete(session, sa.delete(OutboxEvent).where(OutboxEvent.org_id == org,
                                                       OutboxEvent.id.in_(outbox)))
    n += _delete(session, sa.delete(MailMessage).where(_mail_filter(session, subject)))
    n += _delete(session, sa.delete(MailSuppression).where(
        MailSuppression.org_id == org,
        MailSuppression.id.in_(_suppression_ids(session, subject))))
    n += _delete(session, sa.delete(Lead).where(Lead.org_id == org,
                                                Lead.id.in_(subject.lead_ids)))
    for table in _generic_tables():
        cols = _text_columns(table)
        for r in _mentioning(session, table, subject):
            values = {c.name: redact(r._mapping[c.name], subject.needles) for c in cols}
            # Core, on the connection: the audit log's ORM guard refuses changes, and
            # erasure is the one change the law requires of it (docs/privacy.md).
            session.connection().execute(sa.update(table).where(
                table.c.org_id == org, table.c.id == r._mapping["id"]).values(**values))
            n += 1
    return n


def _delete(session: Session, stmt: sa.Delete) -> int:
    res = session.execute(stmt.execution_options(synchronize_session=False))
    return int(res.rowcount)  # type: ignore[attr-defined]


def _generic_tables() -> list[sa.Table]:
    return [t for t in Base.metadata.sorted_tables
            if "org_id" in t.c and "id" in t.c and t.name not in SKIP | DELETED]


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _row(obj: Any, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Named attributes, or every column except ciphertexts and blind indexes (their
    plain values are attributes of the object: kernel.metadata.sealed)."""
    names = names or tuple(c.name for c in obj.__table__.columns
                           if not c.name.endswith("_ct") and not c.name.endswith("_index"))
    return {n: _jsonable(getattr(obj, n)) for n in names}


def secure_sqlite(session: Session) -> None:
    """On SQLite: zero freed pages for this transaction's deletes."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA secure_delete=ON")


def scrub_sqlite(engine: sa.Engine) -> None:
    """On SQLite, after the commit: copy the log into the file and truncate it, so no old
    version of a page survives in ``-wal``; VACUUM drops freed pages kept in the file."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.exec_driver_sql("VACUUM")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
