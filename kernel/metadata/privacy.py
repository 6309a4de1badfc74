"""Privacy tables: wrapped data keys (kernel.crypto) and consent per purpose (leads.consent)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel.metadata.base import Base, CreatedAt, OrgScoped, id_column, id_ref
from kernel.metadata.types import UTCDateTime


class OrgDataKey(CreatedAt, Base):
    """An organization's data key, wrapped (AES-256-GCM) by the master key ``master_key_id``.

    ``version`` numbers the data key itself; rotating the master key re-wraps it and sets
    ``rotated_at``, the data key and every ciphertext under it stay as they are.
    """

    __tablename__ = "org_data_keys"

    org_id: Mapped[str] = mapped_column(
        sa.String(40), sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    wrapped: Mapped[bytes] = mapped_column(sa.LargeBinary())
    master_key_id: Mapped[str] = mapped_column(sa.String(16))
    rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ConsentPurpose(OrgScoped, CreatedAt, Base):
    """Something an organization asks consent for (``marketing_email``, ``analytics``…)."""

    __tablename__ = "consent_purposes"
    __table_args__ = (sa.UniqueConstraint("org_id", "key"),)

    id: Mapped[str] = id_column("consent_purposes")
    key: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    #: Ticked and required on the opt-in form (a purpose the magnet cannot be had without).
    required: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: Offered on the landing page's opt-in form.
    on_form: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    #: Version of the text shown now (the newest of ``consent_texts``).
    current_version: Mapped[int] = mapped_column(default=1, server_default="1")


class ConsentText(OrgScoped, CreatedAt, Base):
    """One version of a purpose's wording; never changed once written."""

    __tablename__ = "consent_texts"
    __table_args__ = (sa.UniqueConstraint("purpose_id", "version"),
                      sa.Index("ix_consent_texts_org_id", "org_id"))

    id: Mapped[str] = id_column("consent_texts")
    purpose_id: Mapped[str] = id_ref("consent_purposes", ondelete="CASCADE")
    version: Mapped[int] = mapped_column()
    text: Mapped[str] = mapped_column(sa.Text())
    sha256: Mapped[str] = mapped_column(sa.String(64))


class ConsentRecord(OrgScoped, CreatedAt, Base):
    """One grant or withdrawal (append-only: the newest record per person and purpose is
    the consent in force). ``proof`` is the SHA-256 of the exact text shown."""

    __tablename__ = "consent_records"
    __table_args__ = (
        sa.Index("ix_consent_records_org_id_lead_id", "org_id", "lead_id", "purpose"),
        sa.Index("ix_consent_records_org_id_visitor_id", "org_id", "visitor_id", "purpose"),
        # The collector reads the newest records of one purpose each second (ingestion.consent).
        sa.Index("ix_consent_records_purpose_created_at", "purpose", "created_at"),
        sa.CheckConstraint("lead_id IS NOT NULL OR visitor_id IS NOT NULL", name="subject"),
    )

    id: Mapped[str] = id_column("consent_records")
    lead_id: Mapped[str | None] = id_ref("leads", nullable=True, ondelete="CASCADE")
    visitor_id: Mapped[str | None] = mapped_column(sa.String(64))
    purpose: Mapped[str] = mapped_column(sa.String(64))
    text_version: Mapped[int] = mapped_column()
    granted: Mapped[bool] = mapped_column()
    #: form | banner | api
    source: Mapped[str] = mapped_column(sa.String(16))
    proof: Mapped[str] = mapped_column(sa.String(64))
