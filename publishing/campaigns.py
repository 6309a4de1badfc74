"""Email campaigns: announce a magnet to the confirmed leads who consented to a purpose.

:func:`schedule_campaign` validates and records one (audited); at its time the mail worker
calls :func:`queue_due_campaigns`, which claims it (a conditional update, so two workers
never both queue it), picks the audience and queues one mail per address in the mail
outbox, where the organization's send rate applies. Each mail carries a signed click link
(``/r/…``: the landing page with ``utm_medium=email``; the target is inside the signature,
so the redirect cannot be pointed elsewhere) and a one-click unsubscribe; an address
suppressed after queuing is skipped when its turn comes.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import DomainError, NotFoundError
from kernel.metadata.audit import Actor, record
from kernel.metadata.models import Lead, LeadMagnet, MailCampaign, MailMessage, Organization
from kernel.metadata.types import utcnow
from kernel.settings import Settings
from leads import consent
from leads.tags import TagError, has_any_tag, normalize_tags
from publishing import tokens
from publishing.links import Links
from publishing.mail.outbox import queue_mail
from publishing.mails import sender_domain
from publishing.qr import tagged_url
from publishing.render import render

log = logging.getLogger(__name__)

CLICK_TTL_S = 365 * 24 * 3600.0
_PURPOSE = consent.KEY
#: Mail kind of a campaign's mails: ``campaign:<purpose>`` (the sender re-checks consent).
CAMPAIGN_KIND = "campaign:"


class CampaignError(DomainError):
    code = "invalid"


def schedule_campaign(session: Session, org_id: str, actor: Actor, *, magnet_id: str,
                      name: str, subject: str, scheduled_at: dt.datetime, intro: str = "",
                      purpose: str = "marketing_email",
                      segment: dict[str, Any] | None = None) -> MailCampaign:
    """A campaign of ``org_id`` announcing ``magnet_id`` at ``scheduled_at`` (audited).

    Raises:
        NotFoundError: the magnet (or a segment magnet) is not the organization's.
        CampaignError: a line break in the subject, an unknown purpose or a naive time.
    """
    if session.scalar(sa.select(LeadMagnet.id).where(LeadMagnet.id == magnet_id,
                                                     LeadMagnet.org_id == org_id)) is None:
        raise NotFoundError("magnet", magnet_id)
    if "\r" in subject or "\n" in subject:
        raise CampaignError("a subject cannot contain line breaks", [{"field": "subject"}])
    if not _PURPOSE.match(purpose):
        raise CampaignError("purpose must be a consent purpose such as marketing_email",
                            [{"field": "purpose"}])
    if scheduled_at.tzinfo is None:
        raise CampaignError("scheduled_at needs a time zone (e.g. 2026-01-05T09:00:00Z)",
                            [{"field": "scheduled_at"}])
    segment = dict(segment or {})
    if segment.get("tags") is not None:
        try:
            segment["tags"] = normalize_tags(segment["tags"] if isinstance(
                segment["tags"], list) else [segment["tags"]])
        except TagError as exc:
            raise CampaignError(exc.message, [{"field": "segment.tags"}]) from exc
    for other in segment.get("magnet_ids") or []:
        if session.scalar(sa.select(LeadMagnet.id).where(LeadMagnet.id == other,
                                                         LeadMagnet.org_id == org_id)) is None:
            raise NotFoundError("magnet", str(other))
    campaign = MailCampaign(org_id=org_id, magnet_id=magnet_id, name=name, subject=subject,
                            intro=intro, purpose=purpose, segment=segment,
                            scheduled_at=scheduled_at.astimezone(dt.UTC), status="scheduled")
    session.add(campaign)
    session.flush()
    record(session, org_id=org_id, actor=actor, action="campaign.scheduled",
           resource_type="mail_campaign", resource_id=campaign.id,
           after={"magnet_id": magnet_id, "scheduled_at": campaign.scheduled_at.isoformat(),
                  "purpose": purpose, "segment": segment})
    return campaign


def _since(value: Any) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def audience(session: Session, campaign: MailCampaign) -> Iterator[Lead]:
    """Confirmed leads of the organization who consented to the campaign's purpose, once
    per address, within the segment (magnets, sign-up dates, tags: any of them)."""
    stmt = (sa.select(Lead).where(Lead.org_id == campaign.org_id,
                                  Lead.confirmed_at.is_not(None))
            .order_by(Lead.created_at, Lead.id))
    segment = campaign.segment or {}
    if segment.get("magnet_ids"):
        stmt = stmt.where(Lead.magnet_id.in_([str(m) for m in segment["magnet_ids"]]))
    since, until = _since(segment.get("since")), _since(segment.get("until"))
    if since is not None:
        stmt = stmt.where(Lead.created_at >= since)
    if until is not None:
        stmt = stmt.where(Lead.created_at < until)
    tags = [str(t) for t in segment.get("tags") or []]
    seen: set[str] = set()
    for lead in session.scalars(stmt).all():  # read before the caller adds mails
        if (lead.email_index not in seen and consent.granted(session, lead, campaign.purpose)
                and has_any_tag(lead, tags)):
            seen.add(lead.email_index)
            yield lead


def consent_withdrawn(session: Session, mail: MailMessage) -> str | None:
    """Why a queued campaign mail must not go out now (its purpose is no longer granted),
    or None; other mails (confirmations, deliveries) are never held back here."""
    if not mail.kind.startswith(CAMPAIGN_KIND) or mail.lead_id is None:
        return None
    lead = session.get(Lead, mail.lead_id)
    purpose = mail.kind.removeprefix(CAMPAIGN_KIND)
    if lead is None or lead.org_id != mail.org_id or not consent.granted(session, lead, purpose):
        return f"no {purpose} consent"
    return None


def click_url(links: Links, lead: Lead, campaign: MailCampaign, target: str) -> str:
    token = tokens.sign(links.settings.secret_key, "click",
                        {"o": lead.org_id, "l": lead.id, "c": campaign.id, "u": target},
                        CLICK_TTL_S)
    return f"{links.base}/r/{token}"


def queue_campaign(session: Session, campaign: MailCampaign, links: Links) -> int:
    """Queue the campaign's mails (the caller committed the claim; this commits the mails)."""
    org = session.get_one(Organization, campaign.org_id)
    magnet = session.get_one(LeadMagnet, campaign.magnet_id)
    slug = re.sub(r"[^a-z0-9]+", "-", campaign.name.lower()).strip("-")[:64] or "campaign"
    target = tagged_url(links.landing(org.slug, magnet.slug), "email", "email", slug)
    content = magnet.content or {}
    title = str(content.get("title") or magnet.name)
    sub = str(content.get("subtitle") or content.get("subheadline") or "")
    n = 0
    for lead in audience(session, campaign):
        ctx = {"name": lead.name or "", "intro": campaign.intro, "title": title,
               "subtitle": sub, "org_name": org.name,
               "accent": str((magnet.design or {}).get("accent") or "#1d4ed8"),
               "click_url": click_url(links, lead, campaign, target),
               "open_url": links.open_pixel(lead, f"campaign:{campaign.id}"),
               "unsubscribe_url": links.unsubscribe(lead)}
        queue_mail(session, campaign.org_id, kind=f"{CAMPAIGN_KIND}{campaign.purpose}", to_addr=lead.email,
                   to_name=lead.name or "", lead_id=lead.id, subject=campaign.subject,
                   text_body=render("campaign.txt", **ctx),
                   html_body=render("campaign.html", **ctx),
                   unsubscribe_url=str(ctx["unsubscribe_url"]),
                   domain=sender_domain(links.settings.mail_from), flush=False)
        n += 1
    campaign.status, campaign.queued = "queued", n
    record(session, org_id=campaign.org_id, actor=Actor.system("mail"),
           action="campaign.queued", resource_type="mail_campaign", resource_id=campaign.id,
           after={"queued": n})
    session.commit()
    return n


def queue_due_campaigns(sessions: sessionmaker[Session], settings: Settings,
                        now: dt.datetime | None = None) -> int:
    """Queue every campaign due at ``now``; returns how many mails were queued."""
    now = now or utcnow()
    links = Links(settings.public_url or settings.api_url, settings)
    total = 0
    with sessions() as session:
        due = session.scalars(sa.select(MailCampaign.id).where(
            MailCampaign.status == "scheduled", MailCampaign.scheduled_at <= now)).all()
    for campaign_id in due:
        with sessions() as session:
            claimed = session.execute(
                sa.update(MailCampaign)
                .where(MailCampaign.id == campaign_id, MailCampaign.status == "scheduled")
                .values(status="queuing").execution_options(synchronize_session=False))
            session.commit()
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
            campaign = session.get_one(MailCampaign, campaign_id)
            try:
                total += queue_campaign(session, campaign, links)
            except Exception:
                session.rollback()
                session.execute(sa.update(MailCampaign).where(MailCampaign.id == campaign_id)
                                .values(status="scheduled"))
                session.commit()
                log.exception("queuing campaign %s failed; it stays scheduled", campaign_id)
    return total
