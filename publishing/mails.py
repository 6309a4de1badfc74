"""The mails of the opt-in flow, rendered from templates and queued in the outbox."""

from __future__ import annotations

import uuid
from email.utils import parseaddr

from sqlalchemy.orm import Session

from kernel.metadata.models import Lead, LeadMagnet, MailMessage
from publishing.delivery import has_artifact
from publishing.links import Links
from publishing.mail.outbox import queue_mail
from publishing.render import render


def _common(magnet: LeadMagnet, lead: Lead, org_name: str, links: Links) -> dict[str, object]:
    design = magnet.design or {}
    return {"name": lead.name or "", "title": str((magnet.content or {}).get("title")
                                                  or magnet.name),
            "org_name": org_name, "accent": str(design.get("accent") or "#1d4ed8"),
            "unsubscribe_url": links.unsubscribe(lead)}


def sender_domain(settings_from: str) -> str:
    return parseaddr(settings_from)[1].rpartition("@")[2] or "lodestone.local"


def queue_confirmation(session: Session, magnet: LeadMagnet, lead: Lead, org_name: str,
                       links: Links) -> MailMessage:
    """The double opt-in mail: one link that confirms and delivers."""
    ctx = {**_common(magnet, lead, org_name, links), "confirm_url": links.confirm(lead),
           "ttl_hours": links.settings.confirm_link_ttl_hours,
           "open_url": links.open_pixel(lead, f"confirm:{uuid.uuid4().hex}")}
    return queue_mail(
        session, lead.org_id, kind="confirm", to_addr=lead.email, to_name=lead.name or "",
        lead_id=lead.id, subject=f"Confirm to get {ctx['title']}",
        text_body=render("confirm.txt", **ctx), html_body=render("confirm.html", **ctx),
        unsubscribe_url=str(ctx["unsubscribe_url"]),
        domain=sender_domain(links.settings.mail_from))


def queue_delivery(session: Session, magnet: LeadMagnet, lead: Lead, org_name: str,
                   links: Links) -> MailMessage:
    """The magnet itself (a signed, expiring download link), for a confirmed lead."""
    ctx = {**_common(magnet, lead, org_name, links), "download_url": links.download(lead),
           "ttl_hours": links.settings.download_link_ttl_hours,
           "placeholder": not has_artifact(session, magnet)}
    return queue_mail(
        session, lead.org_id, kind="deliver", to_addr=lead.email, to_name=lead.name or "",
        lead_id=lead.id, subject=f"Your copy of {ctx['title']}",
        text_body=render("deliver.txt", **ctx), html_body=render("deliver.html", **ctx),
        unsubscribe_url=str(ctx["unsubscribe_url"]),
        domain=sender_domain(links.settings.mail_from))
