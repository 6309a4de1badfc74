"""A magnet's publishing state for the management API: URL, opt-in mode, counts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.metadata.enums import MagnetStatus
from kernel.metadata.models import Lead, LeadMagnet, MailMessage
from publishing.delivery import has_artifact


def publishing_status(session: Session, magnet: LeadMagnet, landing_url: str) -> dict[str, Any]:
    """Where the page is, whether it serves, how many leads are pending and confirmed."""
    confirmed = sa.func.count(Lead.confirmed_at)
    total, done = session.execute(
        sa.select(sa.func.count(Lead.id), confirmed)
        .where(Lead.org_id == magnet.org_id, Lead.magnet_id == magnet.id)).one()
    mail = dict(session.execute(
        sa.select(MailMessage.status, sa.func.count())
        .join(Lead, Lead.id == MailMessage.lead_id)
        .where(MailMessage.org_id == magnet.org_id, Lead.magnet_id == magnet.id)
        .group_by(MailMessage.status)).tuples().all())
    status = MagnetStatus(magnet.status)
    return {
        "magnet_id": magnet.id,
        "landing_url": landing_url,
        "live": status == MagnetStatus.PUBLISHED,
        "status": status.value,
        "double_opt_in": magnet.double_opt_in,
        "has_artifact": has_artifact(session, magnet),
        "leads": {"pending": int(total) - int(done), "confirmed": int(done)},
        "mail": {k: int(v) for k, v in mail.items()},
    }
