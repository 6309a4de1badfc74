"""The signed links in mails: confirm (and deliver), download, unsubscribe, campaign click.
Each verifies its token, works in the organization named inside it, and records its event
through the collector's spool."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app_api.pages import message_page
from app_api.public import Public, PublicDep
from app_api.tenancy import TenantSession
from kernel.errors import DomainError, NotFoundError
from kernel.metadata.models import Lead, LeadMagnet
from leads.service import confirm_lead
from publishing import tokens
from publishing.delivery import deliverable, delivery_name
from publishing.events import RecentIds, event_row, utm_of
from publishing.landing import live_experiment
from publishing.links import lead_ref
from publishing.mail.outbox import suppress
from publishing.optin import ACTOR

router = APIRouter(include_in_schema=False)


def _lead_from(pub: Public, purpose: str, token: str) -> tuple[str, str]:
    return lead_ref(pub.settings.secret_key, purpose, token)


def _link_refusal(exc: DomainError) -> HTMLResponse:
    if isinstance(exc, tokens.TokenExpiredError):
        return message_page(410, "This link has expired", exc.message)
    if isinstance(exc, NotFoundError):
        return message_page(404, "This link is no longer valid", "The sign-up it belongs to no "
                        "longer exists.")
    return message_page(400, "This link does not work", exc.message)


def _lead_and_magnet(db: TenantSession, lead_id: str) -> tuple[Lead, LeadMagnet]:
    """The link's lead and its magnet in the link's organization, or NotFoundError."""
    lead = db.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError("lead", lead_id)
    magnet = db.get(LeadMagnet, lead.magnet_id)
    if magnet is None:
        raise NotFoundError("magnet", lead.magnet_id)
    return lead, magnet


@router.get("/c/{token}")
def confirm(token: str, request: Request, pub: PublicDep) -> Response:
    """One click: confirm the address and deliver the magnet on the same page."""
    links = pub.links()
    try:
        org_id, lead_id = _lead_from(pub, "confirm", token)
        with pub.org_by_id(org_id) as (org, db):
            lead, magnet = _lead_and_magnet(db, lead_id)
            changed = confirm_lead(db.session, lead, ACTOR)
            download = links.download(lead)
            filename, is_placeholder = delivery_name(db.session, magnet)
            experiment = live_experiment(db.session, magnet)
            db.commit()
            title = str((magnet.content or {}).get("title") or magnet.name)
            visitor, variant = lead.visitor_id or "", lead.variant or ""
            site_id, magnet_id = magnet.site_id or "", magnet.id
            page = message_page(
                200, "You're confirmed: here is your download",
                f"Thank you{', ' + lead.name if lead.name else ''}. Your copy of {title} "
                "is downloading; if it does not start, use the button.", org=org,
                download_url=download, filename=filename, placeholder=is_placeholder,
                ttl_hours=pub.settings.download_link_ttl_hours, auto_download=download)
    except DomainError as exc:
        return _link_refusal(exc)
    if changed:
        pub.record([event_row(
            "confirmed", org_id=org_id, site_id=site_id, visitor_id=visitor,
            magnet_id=magnet_id, url=f"{links.base}/c/", variant=variant,
            experiment=experiment.key if experiment is not None and variant else "",
            props={"lead_id": lead_id}, **pub.facts())])
    return page


@router.get("/d/{token}")
def download(token: str, request: Request, pub: PublicDep) -> Response:
    """The magnet's file, through a signed link that expires."""
    try:
        org_id, lead_id = _lead_from(pub, "download", token)
        with pub.org_by_id(org_id) as (_org, db):
            lead, magnet = _lead_and_magnet(db, lead_id)
            file = deliverable(db.session, magnet, pub.settings)
            visitor, variant = lead.visitor_id or "", lead.variant or ""
            site_id, magnet_id = magnet.site_id or "", magnet.id
    except DomainError as exc:
        return _link_refusal(exc)
    pub.record([event_row(
        "download", org_id=org_id, site_id=site_id, visitor_id=visitor, magnet_id=magnet_id,
        url=f"{pub.links().base}/d/", variant=variant,
        props={"lead_id": lead_id, "placeholder": file.placeholder}, **pub.facts())])
    return Response(file.body, 200, media_type=file.media_type, headers={
        "Content-Disposition": f'attachment; filename="{file.filename}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@router.get("/r/{token}")
def click(token: str, pub: PublicDep) -> Response:
    """A campaign link: record the click, then redirect to the URL inside the signature
    (never to one from the query string: no open redirect)."""
    try:
        payload = tokens.verify(pub.settings.secret_key, "click", token)
        target, org_id, lead_id = payload.get("u"), payload.get("o"), payload.get("l")
        if not (isinstance(target, str) and target.startswith(("https://", "http://"))
                and isinstance(org_id, str) and isinstance(lead_id, str)):
            raise tokens.TokenError("this link cannot be read")
        with pub.org_by_id(org_id) as (_org, db):
            lead = db.get(Lead, lead_id)
            magnet = db.get(LeadMagnet, lead.magnet_id) if lead is not None else None
            visitor = (lead.visitor_id or "") if lead is not None else ""
            site_id = (magnet.site_id or "") if magnet is not None else ""
            magnet_id = magnet.id if magnet is not None else ""
    except DomainError as exc:
        return _link_refusal(exc)
    pub.record([event_row("click", org_id=org_id, site_id=site_id, visitor_id=visitor,
                          magnet_id=magnet_id, url=target, utm=utm_of(target),
                          props={"campaign_id": str(payload.get("c") or ""),
                                 "lead_id": lead_id}, **pub.facts())])
    return RedirectResponse(target, 302, headers={"Cache-Control": "private, no-store",
                                                  "Referrer-Policy": "no-referrer"})


OPENED = RecentIds()  # open pixels already recorded by this process
PIXEL = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00"
         b"\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


@router.get("/o/{token}.gif")
def mail_opened(token: str, pub: PublicDep) -> Response:
    """A mail's open pixel: one ``email_open`` per mail and recipient (its event id is
    derived from both, so the warehouse keeps one however often the image loads)."""
    headers = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}
    try:
        payload = tokens.verify(pub.settings.secret_key, "open", token)
        org_id, lead_id, key = payload.get("o"), payload.get("l"), payload.get("k")
        if not (isinstance(org_id, str) and isinstance(lead_id, str) and isinstance(key, str)):
            raise tokens.TokenError("this image link cannot be read")
        with pub.org_by_id(org_id) as (_org, db):
            lead, magnet = _lead_and_magnet(db, lead_id)
            visitor, site_id, magnet_id = lead.visitor_id or "", magnet.site_id or "", magnet.id
    except DomainError:  # an image: no page to show; nothing recorded
        return Response(PIXEL, media_type="image/gif", headers=headers)
    campaign = key.removeprefix("campaign:") if key.startswith("campaign:") else ""
    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"lodestone:email_open:{org_id}:{lead_id}:{key}"))
    if OPENED.first(event_id):
        pub.record([event_row(
            "email_open", org_id=org_id, site_id=site_id, visitor_id=visitor,
            magnet_id=magnet_id, event_id=event_id, props={
                "lead_id": lead_id, "mail": key.split(":", 1)[0], "campaign_id": campaign},
            **pub.facts())])
    return Response(PIXEL, media_type="image/gif", headers=headers)


@router.get("/u/{token}")
def unsubscribe_page(token: str, pub: PublicDep) -> Response:
    """Confirm-free unsubscribe page: one button (link scanners only GET, never POST)."""
    try:
        _lead_from(pub, "unsubscribe", token)
    except DomainError as exc:
        return _link_refusal(exc)
    return message_page(200, "Unsubscribe", "Stop all mail from this sender to your address?",
                    form_action=f"/u/{token}", form_button="Unsubscribe")


@router.post("/u/{token}")
def unsubscribe(token: str, pub: PublicDep) -> Response:
    """One-click unsubscribe (RFC 8058 ``List-Unsubscribe-Post`` and the page's button)."""
    try:
        org_id, lead_id = _lead_from(pub, "unsubscribe", token)
        with pub.org_by_id(org_id) as (org, db):
            lead = db.get(Lead, lead_id)
            if lead is None:
                raise NotFoundError("lead", lead_id)
            suppress(db.session, org.id, lead.email, "unsubscribed")
            db.commit()
    except DomainError as exc:
        return _link_refusal(exc)
    return message_page(200, "You are unsubscribed", "You will get no more mail from this "
                    "sender. Signing up again on one of its pages undoes this.", org=org)
