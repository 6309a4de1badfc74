"""Public publishing pages: landing page and opt-in, thank-you, confirm (+ delivery),
download, unsubscribe. HTML for people (JSON for the page's own script); no sign-in.

The domain lives in ``publishing``; these handlers parse, call it, commit, record the
page events through the collector's spool and render.
"""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from app_api.public import Public, PublicDep
from kernel.errors import DomainError, NotFoundError
from kernel.metadata.models import Lead, LeadMagnet, Organization
from leads.service import confirm_lead
from publishing import tokens
from publishing.delivery import deliverable, has_artifact
from publishing.embed import allowed_origin, site_origins
from publishing.events import event_row, utm_of
from publishing.landing import (
    MagnetGoneError,
    assignment_for,
    live_experiment,
    page_content,
    published_magnet,
)
from publishing.links import lead_ref, privacy_url
from publishing.mail.outbox import suppress
from publishing.optin import (
    ACTOR,
    BotSuspectedError,
    OptInError,
    check_submission,
    form_token,
    parse_form,
    submit,
)
from publishing.render import render

router = APIRouter(include_in_schema=False)

VISITOR_COOKIE = "ls_vid"  # the snippet's first-party visitor id: one id for both
EXPOSED_COOKIE = "ls_x_"  # + experiment key = visitor id once the exposure is recorded
COOKIE_AGE = 400 * 24 * 3600
VISITOR_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_FORM_FIELDS = 40

MESSAGES = {
    "pending": "Almost there: we have emailed you a link. One click on it confirms your "
               "address and starts the download.",
    "resent": "You are already signed up: we have emailed you a fresh download link.",
    "confirmed": "Thank you! Your download is ready.",
}


def _html(name: str, status: int = 200, headers: dict[str, str] | None = None,
          **ctx: Any) -> HTMLResponse:
    nonce = secrets.token_urlsafe(12)
    body = render(name, nonce=nonce, **ctx)
    csp = (f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
           "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
           "base-uri 'none'; frame-ancestors 'none'")
    out = {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "strict-origin-when-cross-origin",
           "Cache-Control": "private, no-cache", **(headers or {})}
    return HTMLResponse(body, status, headers=out)


def _message(status: int, title: str, *paragraphs: str, org: Organization | None = None,
             **ctx: Any) -> HTMLResponse:
    return _html("message.html", status, title=title, paragraphs=list(paragraphs),
                 org_name=org.name if org else "", privacy_url=privacy_url(org) if org else "",
                 **ctx)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _visitor(request: Request) -> tuple[str, bool]:
    """The visitor id from the first-party cookie, or a new one (True: set the cookie)."""
    vid = request.cookies.get(VISITOR_COOKIE, "")
    if VISITOR_RE.match(vid):
        return vid, False
    return uuid.uuid4().hex, True


async def form_data(request: Request) -> dict[str, Any]:
    """The posted form (urlencoded or multipart), bounded in fields and size."""
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    return {k: form.getlist(k) for k in form}


FormData = Annotated[dict[str, Any], Depends(form_data)]


def _landing(pub: Public, org: Organization, db: Any, magnet: LeadMagnet, visitor: str,
             status: int = 200, errors: list[str] | None = None,
             values: dict[str, str] | None = None) -> tuple[HTMLResponse, Any]:
    assignment = assignment_for(live_experiment(db.session, magnet), visitor)
    content = page_content(magnet, assignment.variant)
    links = pub.links()
    action = links.landing(org.slug, magnet.slug).removeprefix(links.base) or "/"
    design = magnet.design or {}
    page = _html(
        "landing.html", status, page=content, org_name=org.name, privacy_url=privacy_url(org),
        canonical=links.landing(org.slug, magnet.slug), robots="index,follow",
        magnet_id=magnet.id, experiment=assignment.experiment, variant=assignment.variant,
        token=form_token(pub.settings.secret_key, magnet, visitor, assignment),
        action=action, errors=errors or [], values=values or {},
        double_opt_in=magnet.double_opt_in, has_artifact=has_artifact(db.session, magnet),
        accent=str(design.get("accent") or "#1d4ed8"))
    return page, assignment


@router.get("/m/{org_slug}/{magnet_slug}")
def landing_page(org_slug: str, magnet_slug: str, request: Request,
                 pub: PublicDep) -> Response:
    """A published magnet's landing page, in the visitor's variant."""
    visitor, new_visitor = _visitor(request)
    try:
        with pub.org_by_slug(org_slug) as (org, db):
            magnet = published_magnet(db.session, org.id, magnet_slug)
            page, assignment = _landing(pub, org, db, magnet, visitor)
            site_id, magnet_id, org_id = magnet.site_id or "", magnet.id, org.id
            if request.query_params.get("embed") == "1":  # the iframe snippet
                frames = " ".join(site_origins(db.session, magnet)) or "'none'"
                page.headers["Content-Security-Policy"] = page.headers[
                    "Content-Security-Policy"].replace("frame-ancestors 'none'",
                                                       f"frame-ancestors {frames}")
    except MagnetGoneError as exc:
        return _message(410, "This offer has ended", f"{exc.message}. Thank you for your "
                        "interest.", headers={"Cache-Control": "public, max-age=300"})
    except NotFoundError:
        return _message(404, "Page not found", "There is no page at this address. Check the "
                        "link you followed.")
    url = str(request.url)
    common = {"org_id": org_id, "site_id": site_id, "visitor_id": visitor,
              "magnet_id": magnet_id, "url": url, "referrer": request.headers.get("referer", ""),
              "utm": utm_of(url), "experiment": assignment.experiment,
              "variant": assignment.variant, **pub.facts()}
    rows = [event_row("magnet_view", **common)]
    exposed_key = EXPOSED_COOKIE + assignment.experiment
    first_exposure = (assignment.records_exposure
                      and request.cookies.get(exposed_key) != visitor)
    if first_exposure:
        rows.append(event_row("exposure", **common))
    pub.record(rows)
    cookie = {"max_age": COOKIE_AGE, "path": "/", "samesite": "lax",
              "secure": request.url.scheme == "https"}
    if new_visitor:
        page.set_cookie(VISITOR_COOKIE, visitor, **cookie)  # type: ignore[arg-type]
    if first_exposure:
        page.set_cookie(exposed_key, visitor, **cookie)  # type: ignore[arg-type]
    page.headers["Vary"] = "Cookie"
    return page


def _refusal(request: Request, status: int, exc: DomainError,
             headers: dict[str, str] | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": {"code": exc.code, "message": exc.message,
                                       "details": exc.details}}, status, headers=headers)
    return _message(status, "We could not take this sign-up", exc.message,
                    back_url=str(request.url.path), headers=headers)


@router.post("/m/{org_slug}/{magnet_slug}")
def opt_in(org_slug: str, magnet_slug: str, request: Request, pub: PublicDep,
           raw: FormData) -> Response:
    """The opt-in form's target: a lead, a mail, then a thank-you page (or JSON). Pages
    of the magnet's site origins may post here from a browser (the embed script)."""
    response = _opt_in(org_slug, magnet_slug, request, pub, raw)
    origin = request.headers.get("origin", "")
    if origin and origin.rstrip("/") != str(request.base_url).rstrip("/"):
        try:
            with pub.org_by_slug(org_slug) as (org, db):
                magnet = published_magnet(db.session, org.id, magnet_slug)
                if allowed_origin(db.session, magnet, origin):
                    response.headers["Access-Control-Allow-Origin"] = origin
        except DomainError:
            pass
        response.headers["Vary"] = "Origin"
    return response


def _opt_in(org_slug: str, magnet_slug: str, request: Request, pub: Public,
            raw: dict[str, Any]) -> Response:
    limit = pub.settings.optin_per_minute
    if limit:
        count, remaining = pub.hit(f"optin:{pub.ip_hash}", 60)
        if count > limit:
            wait = str(max(1, int(remaining + 0.999)))
            return _refusal(request, 429, DomainError(
                f"too many sign-ups from your network in a minute; try again in {wait} s"),
                {"Retry-After": wait})
    links = pub.links()
    try:
        with pub.org_by_slug(org_slug) as (org, db):
            magnet = published_magnet(db.session, org.id, magnet_slug)
            claim = check_submission(pub.settings.secret_key, magnet, raw,
                                     pub.settings.optin_min_fill_s)
            content = page_content(magnet, str(claim.get("a") or ""))
            try:
                form = parse_form(raw, content)
            except OptInError as exc:
                if _wants_json(request):
                    raise
                values = {k: str(v[-1])[:1000] for k, v in raw.items()
                          if k != "token" and isinstance(v, list) and v}
                page, _ = _landing(pub, org, db, magnet, str(claim.get("v") or ""), 422,
                                   [d["message"] if d["field"] in ("email", "name") else
                                    f"{d['field']}: {d['message']}" for d in exc.details],
                                   values)
                return page
            visitor = str(claim.get("v") or "")
            referer = request.headers.get("referer", "")
            outcome = submit(db.session, magnet, form, org_name=org.name, links=links,
                             visitor_id=visitor, variant=str(claim.get("a") or ""),
                             utm=utm_of(referer))
            download = links.download(outcome.lead) if outcome.status == "confirmed" else ""
            db.commit()
            lead_id, org_id, site_id = outcome.lead.id, org.id, magnet.site_id or ""
            magnet_id, back = magnet.id, links.landing(org.slug, magnet.slug)
    except MagnetGoneError as exc:
        return _refusal(request, 410, exc)
    except NotFoundError as exc:
        return _refusal(request, 404, exc)
    except tokens.TokenError as exc:
        return _refusal(request, 400, exc)
    except BotSuspectedError as exc:
        return _refusal(request, 400, exc)
    except OptInError as exc:
        return _refusal(request, 422, exc)
    common = {"org_id": org_id, "site_id": site_id, "visitor_id": visitor,
              "magnet_id": magnet_id, "url": back, "referrer": referer, "utm": utm_of(referer),
              "experiment": str(claim.get("e") or ""), "variant": str(claim.get("a") or ""),
              **pub.facts()}
    rows = []
    if outcome.created:
        rows.append(event_row("lead", props={"lead_id": lead_id}, **common))
    if outcome.confirmed_now:
        rows.append(event_row("confirmed", props={"lead_id": lead_id}, **common))
    pub.record(rows)
    if _wants_json(request):
        return JSONResponse({"status": outcome.status, "message": MESSAGES[outcome.status],
                             "download_url": download or None})
    query = {"s": outcome.status, **({"d": download.rsplit("/", 1)[1]} if download else {})}
    return RedirectResponse(f"{request.url.path}/thanks?{urlencode(query)}", 303)


@router.get("/m/{org_slug}/{magnet_slug}/thanks")
def thanks(org_slug: str, magnet_slug: str, pub: PublicDep, s: str = "pending",
           d: str = "") -> Response:
    """After the opt-in (the no-JavaScript path's redirect target)."""
    state = s if s in MESSAGES else "pending"
    links = pub.links()
    try:
        with pub.org_by_slug(org_slug) as (org, db):
            magnet = published_magnet(db.session, org.id, magnet_slug)
            ctx: dict[str, Any] = {}
            if state == "confirmed" and d:
                tokens.verify(pub.settings.secret_key, "download", d)
                ctx = {"download_url": f"{links.base}/d/{d}",
                       "filename": deliverable(db.session, magnet).filename,
                       "ttl_hours": pub.settings.download_link_ttl_hours,
                       "placeholder": not has_artifact(db.session, magnet)}
            title = "Check your inbox" if state == "pending" else "Thank you"
            return _message(200, title, MESSAGES[state], org=org,
                            back_url=links.landing(org.slug, magnet.slug), **ctx)
    except (NotFoundError, MagnetGoneError, tokens.TokenError):
        return _message(404, "Page not found", "There is no page at this address.")


def _lead_from(pub: Public, purpose: str, token: str) -> tuple[str, str]:
    return lead_ref(pub.settings.secret_key, purpose, token)


def _link_refusal(exc: DomainError) -> HTMLResponse:
    if isinstance(exc, tokens.TokenExpiredError):
        return _message(410, "This link has expired", exc.message)
    if isinstance(exc, NotFoundError):
        return _message(404, "This link is no longer valid", "The sign-up it belongs to no "
                        "longer exists.")
    return _message(400, "This link does not work", exc.message)


@router.get("/c/{token}")
def confirm(token: str, request: Request, pub: PublicDep) -> Response:
    """One click: confirm the address and deliver the magnet on the same page."""
    links = pub.links()
    try:
        org_id, lead_id = _lead_from(pub, "confirm", token)
        with pub.org_by_id(org_id) as (org, db):
            lead = db.get(Lead, lead_id)
            if lead is None:
                raise NotFoundError("lead", lead_id)
            magnet = db.get(LeadMagnet, lead.magnet_id)
            if magnet is None:
                raise NotFoundError("magnet", lead.magnet_id)
            changed = confirm_lead(db.session, lead, ACTOR)
            download = links.download(lead)
            file = deliverable(db.session, magnet)
            experiment = live_experiment(db.session, magnet)
            db.commit()
            title = str((magnet.content or {}).get("title") or magnet.name)
            visitor, variant = lead.visitor_id or "", lead.variant or ""
            site_id, magnet_id = magnet.site_id or "", magnet.id
            page = _message(
                200, "You're confirmed: here is your download",
                f"Thank you{', ' + lead.name if lead.name else ''}. Your copy of {title} "
                "is downloading; if it does not start, use the button.", org=org,
                download_url=download, filename=file.filename, placeholder=file.placeholder,
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
            lead = db.get(Lead, lead_id)
            if lead is None:
                raise NotFoundError("lead", lead_id)
            magnet = db.get(LeadMagnet, lead.magnet_id)
            if magnet is None:
                raise NotFoundError("magnet", lead.magnet_id)
            file = deliverable(db.session, magnet)
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


@router.get("/u/{token}")
def unsubscribe_page(token: str, pub: PublicDep) -> Response:
    """Confirm-free unsubscribe page: one button (link scanners only GET, never POST)."""
    try:
        _lead_from(pub, "unsubscribe", token)
    except DomainError as exc:
        return _link_refusal(exc)
    return _message(200, "Unsubscribe", "Stop all mail from this sender to your address?",
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
    return _message(200, "You are unsubscribed", "You will get no more mail from this "
                    "sender. Signing up again on one of its pages undoes this.", org=org)


@router.get("/p/{org_slug}/privacy")
def privacy(org_slug: str, pub: PublicDep) -> Response:
    """What the landing pages of this organization collect, and why."""
    try:
        with pub.org_by_slug(org_slug) as (org, _db):
            name = org.name
    except NotFoundError:
        return _message(404, "Page not found", "There is no page at this address.")
    return _message(
        200, f"Privacy at {name}",
        f"When you sign up on a page of {name} we keep your email address, the name and "
        "answers you gave, the consents you ticked (with their wording) and when you "
        "confirmed. We use them to send what you asked for and, only if you agreed, "
        "occasional mail.",
        "The pages set one first-party cookie (ls_vid) holding a random id, so that you see "
        "the same version of a page on each visit; it is not shared with anyone.",
        "Every mail has a one-click unsubscribe link.")
