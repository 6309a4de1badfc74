"""Publishing management: a magnet's landing URL and opt-in mode, QR codes, social posts,
the suppression list. Rules in ``publishing/``."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from app_api.deps import Context, PermExport, PermRead, PermWrite
from app_api.schemas import Email, Id, In, LongText, Name, PathId
from kernel.metadata.models import LeadMagnet, MailCampaign, MailSuppression, Organization
from publishing.campaigns import schedule_campaign
from publishing.embed import snippets
from publishing.links import Links
from publishing.mail.outbox import suppress
from publishing.qr import qr_code
from publishing.social import social_posts
from publishing.status import publishing_status

router = APIRouter(prefix="/v1", tags=["publishing"])


def _landing_url(ctx: Context, magnet: LeadMagnet) -> str:
    org = ctx.get(Organization, ctx.org_id, "organization")
    return Links(str(ctx.request.base_url), ctx.settings).landing(org.slug, magnet.slug)


class PublishingOut(BaseModel):
    magnet_id: str
    landing_url: str
    live: bool
    status: str
    double_opt_in: bool
    has_artifact: bool
    leads: dict[str, int]
    mail: dict[str, int]


class PublishingIn(In):
    double_opt_in: bool


@router.get("/magnets/{magnet_id}/publishing", response_model=PublishingOut)
def get_publishing(magnet_id: PathId, ctx: PermRead) -> dict[str, Any]:
    """The magnet's landing page URL, opt-in mode and lead/mail counts."""
    magnet = ctx.get(LeadMagnet, magnet_id, "magnet")
    return publishing_status(ctx.db.session, magnet, _landing_url(ctx, magnet))


@router.patch("/magnets/{magnet_id}/publishing", response_model=PublishingOut)
def update_publishing(magnet_id: PathId, body: PublishingIn, ctx: PermWrite) -> dict[str, Any]:
    """Switch between double opt-in (a confirmation mail first) and single opt-in."""
    magnet = ctx.get(LeadMagnet, magnet_id, "magnet")
    ctx.update(magnet, "magnet", {"double_opt_in": body.double_opt_in})
    return publishing_status(ctx.db.session, magnet, _landing_url(ctx, magnet))


@router.get("/magnets/{magnet_id}/qr", response_class=Response)
def get_qr(magnet_id: PathId, ctx: PermRead,
           medium: str = Query("print", max_length=64),
           campaign: str = Query("", max_length=64),
           format: Literal["svg", "png"] = "svg",  # noqa: A002 - the query parameter's name
           scale: int = Query(8, ge=1, le=40)) -> Response:
    """A QR code (SVG or PNG, error correction M) to the landing page, tagged
    ``utm_source=qr`` and ``utm_medium=<medium>``."""
    magnet = ctx.get(LeadMagnet, magnet_id, "magnet")
    body, media_type, url = qr_code(_landing_url(ctx, magnet), medium=medium,
                                    campaign=campaign, fmt=format, scale=scale)
    return Response(body, media_type=media_type, headers={"X-QR-URL": url})


class EmbedOut(BaseModel):
    script_url: str
    integrity: str
    inline: str
    popup: str
    iframe: str


@router.get("/magnets/{magnet_id}/embed", response_model=EmbedOut)
def get_embed(magnet_id: PathId, ctx: PermRead) -> dict[str, str]:
    """HTML to paste on the magnet's site: inline form, popup, iframe (script with SRI)."""
    magnet = ctx.get(LeadMagnet, magnet_id, "magnet")
    links = Links(str(ctx.request.base_url), ctx.settings)
    return snippets(links.base, _landing_url(ctx, magnet))


class SocialPostOut(BaseModel):
    network: str
    text: str
    url: str
    length: int
    limit: int


@router.get("/magnets/{magnet_id}/social-posts", response_model=list[SocialPostOut])
def get_social_posts(magnet_id: PathId, ctx: PermRead,
                     campaign: str = Query("", max_length=64)) -> list[Any]:
    """Post texts for LinkedIn, X and Facebook within their limits, with UTM-tagged links."""
    magnet = ctx.get(LeadMagnet, magnet_id, "magnet")
    return list(social_posts(magnet, _landing_url(ctx, magnet), campaign))


class CampaignIn(In):
    magnet_id: Id
    name: Name
    subject: Name
    intro: LongText = ""
    purpose: str = Field("marketing_email", max_length=64)
    scheduled_at: dt.datetime
    magnet_ids: list[Id] = Field(default_factory=list, max_length=100)
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    tags: list[str] = Field(default_factory=list, max_length=20,
                            description="Only leads with any of these tags.")


class CampaignOut(BaseModel):
    id: str
    magnet_id: str
    name: str
    subject: str
    purpose: str
    segment: dict[str, Any]
    scheduled_at: dt.datetime
    status: str
    queued: int


@router.post("/campaigns", response_model=CampaignOut, status_code=201)
def create_campaign(body: CampaignIn, ctx: PermWrite) -> Any:
    """Schedule a mail announcing a magnet to confirmed leads who consented to ``purpose``
    (segment: magnets, sign-up dates, tags), sent through the mail outbox at the org's rate."""
    segment: dict[str, Any] = {"magnet_ids": body.magnet_ids}
    if body.tags:
        segment["tags"] = body.tags
    for key in ("since", "until"):
        value = getattr(body, key)
        if value is not None:
            segment[key] = value.isoformat()
    campaign = schedule_campaign(
        ctx.db.session, ctx.org_id, ctx.actor, magnet_id=body.magnet_id, name=body.name,
        subject=body.subject, intro=body.intro, purpose=body.purpose,
        scheduled_at=body.scheduled_at, segment=segment)
    ctx.db.commit()
    return campaign


@router.get("/campaigns", response_model=list[CampaignOut])
def list_campaigns(ctx: PermRead, limit: int = Query(100, ge=1, le=500)) -> list[Any]:
    """Campaigns, newest first, with their status (scheduled, queuing, queued) and size."""
    return list(ctx.db.scalars(ctx.db.select(MailCampaign)
                               .order_by(MailCampaign.created_at.desc()).limit(limit)))


class SuppressionIn(In):
    email: Email
    reason: Literal["unsubscribed", "bounced", "complained"]


class SuppressionOut(BaseModel):
    email: str
    reason: str


@router.get("/mail/suppressions", response_model=list[SuppressionOut])
def list_suppressions(ctx: PermExport, limit: int = Query(200, ge=1, le=1000)) -> list[Any]:
    """Addresses no mail goes to (unsubscribed, bounced, complained), newest first
    (personal data: ``data:export``)."""
    return list(ctx.db.scalars(ctx.db.select(MailSuppression)
                               .order_by(MailSuppression.created_at.desc()).limit(limit)))


@router.post("/mail/suppressions", response_model=SuppressionOut, status_code=201)
def add_suppression(body: SuppressionIn, ctx: PermWrite) -> Any:
    """Record a bounce or complaint reported by the mail provider (or an unsubscribe)."""
    row = suppress(ctx.db.session, ctx.org_id, body.email, body.reason, actor=ctx.actor)
    ctx.db.commit()
    return row

