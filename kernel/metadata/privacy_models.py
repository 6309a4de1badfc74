"""Data-subject requests (export, erasure), retention policies and the record of processing
activities (privacy/ uses them).

Kept beside ``models.py`` (which imports this module) so the privacy tables stay together.
A request holds the person's identifiers only while it is pending: an erasure that finished
keeps a keyed hash of them (``subject_hash``), what was removed per store and who asked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.metadata.base import Base, CreatedAt, OrgScoped, Timestamps, id_column, id_ref, str_enum
from kernel.metadata.enums import LegalBasis
from kernel.metadata.types import JSONType, UTCDateTime


class PrivacyRequest(OrgScoped, CreatedAt, Base):
    """One export or erasure of one person, run as a job; its steps are idempotent."""

    __tablename__ = "privacy_requests"
    __table_args__ = (
        sa.Index("ix_privacy_requests_org_id_created_at", "org_id", "created_at"),
        sa.Index("ix_privacy_requests_org_id_subject_hash", "org_id", "subject_hash"),
    )

    id: Mapped[str] = id_column("privacy_requests")
    kind: Mapped[str] = mapped_column(sa.String(16))  # export | erase
    #: pending (queued or running; resumable), done, failed
    status: Mapped[str] = mapped_column(sa.String(16), default="pending",
                                        server_default="pending")
    #: The identifiers while pending (``{"email", "lead_ids", "visitor_ids"}``); emptied
    #: when an erasure finishes.
    subject: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: Keyed HMAC-SHA256 of the identifiers (kept: proves which request was whose, no data).
    subject_hash: Mapped[str] = mapped_column(sa.String(64))
    job_id: Mapped[str | None] = id_ref("jobs", nullable=True, ondelete="SET NULL")
    requested_by: Mapped[str] = mapped_column(sa.String(64))
    #: Steps done so far and their row counts: ``{"spool": 0, "warehouse": 12, ...}``.
    steps: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(sa.Text())
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Export only: archive size, expiry, and when it was downloaded (once).
    archive_bytes: Mapped[int | None] = mapped_column(sa.BigInteger())
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    downloaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RetentionPolicy(OrgScoped, CreatedAt, Base):
    """How long an organization keeps raw events and unconfirmed leads (None: forever)."""

    __tablename__ = "retention_policies"
    __table_args__ = (sa.UniqueConstraint("org_id"),)

    id: Mapped[str] = id_column("retention_policies")
    raw_events_days: Mapped[int | None] = mapped_column()
    unconfirmed_leads_days: Mapped[int | None] = mapped_column()
    #: Days to keep raw events per visitor region (privacy.jurisdictions: a country code or
    #: a group such as EU), over ``raw_events_days`` for events from there.
    regions: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict, server_default="{}")
    #: What the last run removed (``{"at", "events", "lake_files", "leads"}``).
    last_run: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class ProcessingActivity(OrgScoped, Timestamps, Base):
    """One entry of the organization's record of processing activities (GDPR art. 30).

    Lists of strings for categories, subjects and recipients; ``transfers`` holds
    ``{"recipient", "country", "safeguard"}`` objects for data leaving the EEA. When an
    organization has none stored, privacy.register derives a default register.
    """

    __tablename__ = "processing_activities"
    __table_args__ = (sa.UniqueConstraint("org_id", "name"),)

    id: Mapped[str] = id_column("processing_activities")
    name: Mapped[str] = mapped_column(sa.String(200))
    purpose: Mapped[str] = mapped_column(sa.Text())
    #: Key of the organization's consent purpose this activity relies on (consent basis).
    consent_purpose: Mapped[str | None] = mapped_column(sa.String(64))
    legal_basis: Mapped[LegalBasis] = mapped_column(str_enum(LegalBasis, "legal_basis"))
    data_categories: Mapped[list[str]] = mapped_column(JSONType, default=list)
    data_subjects: Mapped[list[str]] = mapped_column(JSONType, default=list)
    recipients: Mapped[list[str]] = mapped_column(JSONType, default=list)
    retention: Mapped[str] = mapped_column(sa.Text(), default="", server_default="")
    transfers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
