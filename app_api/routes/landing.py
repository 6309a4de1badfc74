"""Public publishing pages: landing page and opt-in, thank-you, confirm (+ delivery),
download, unsubscribe. HTML for people (JSON for the page's own script); no sign-in.

The domain lives in ``publishing``; these handlers parse, call it, commit, record the
page events through the collector's spool and render.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from app_api.pages import html_page, message_page, new_nonce, page_headers
from app_api.public import Public, PublicDep
from kernel.errors import DomainError, NotFoundError
from kernel.metadata.enums import ConsentMode
from kernel.pii import org_policy
from leads.consent import form_consents
from publishing import tokens
from publishing.consent_banner import (
    CONSENT_COOKIE,
    DENIED,
    GRANTED,
    banner_needed,
    consent_token,
    read_choice,
)
from publishing.delivery import delivery_name
from publishing.embed import allowed_origin
from publishing.events import event_row, utm_of
from publishing.landing import Assignment, MagnetGoneError, page_content, published_magnet
from publishing.optin import (
    BotSuspectedError,
    OptInError,
    check_submission,
    form_token,
    parse_form,
    submit,
)
from publishing.page_cache import LandingSnapshot
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


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _visitor(request: Request, pub: Public, snap: LandingSnapshot) -> tuple[str, bool]:
    """(visitor id, whether to set the cookie), per the organization's consent mode.

    ``first_party``: the ``ls_vid`` cookie, created on the first visit. ``cookieless`` and
    ``consent_required``: an ``ls_vid`` set after consent if there is one, else the
    collector's cookieless id (a keyed daily hash of IP and user agent, the same one the
    snippet gets) and no cookie is set. In ``consent_required`` mode the ``ls_vid`` counts
    only while its analytics consent record says granted (a withdrawal through the API
    takes effect on the next page view; :func:`serve_landing` then drops the cookies).
    """
    vid = request.cookies.get(VISITOR_COOKIE, "")
    mode = ConsentMode(snap.consent_mode)
    if VISITOR_RE.match(vid) and (mode != ConsentMode.CONSENT_REQUIRED
                                  or pub.analytics_consent(snap.org_id, vid) is True):
        return vid, False
    if mode == ConsentMode.FIRST_PARTY:
        return uuid.uuid4().hex, True
    return pub.cookieless_visitor(snap.org_id), False


async def form_data(request: Request) -> dict[str, Any]:
    """The posted form (urlencoded or multipart), bounded in fields and size."""
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    return {k: form.getlist(k) for k in form}


FormData = Annotated[dict[str, Any], Depends(form_data)]
# Stand-ins for the per-visitor parts of a pre-rendered page (markupsafe leaves them be).
NONCE_SLOT, TOKEN_SLOT, CONSENT_SLOT = "\x1enonce\x1e", "\x1etoken\x1e", "\x1econsent\x1e"


def _context(pub: Public, snap: LandingSnapshot, variant: str, canonical: str
             ) -> dict[str, Any]:
    links = pub.links()
    return {"page": snap.content(variant), "org_name": snap.org_name,
            "privacy_url": snap.privacy_url, "canonical": canonical,
            "share_image": f"{canonical}/og.png?v={snap.share_version}",
            "robots": snap.robots, "magnet_id": snap.magnet_id,
            "action": links.landing(snap.org_slug, snap.magnet_slug).removeprefix(links.base)
            or "/", "double_opt_in": snap.double_opt_in, "has_artifact": snap.has_artifact,
            "accent": snap.accent}


def _landing(pub: Public, snap: LandingSnapshot, visitor: str, status: int = 200,
             errors: list[str] | None = None, values: dict[str, str] | None = None,
             canonical: str = "") -> tuple[HTMLResponse, Assignment]:
    """The page for ``visitor``: pre-rendered per variant unless it shows form errors.
    ``canonical``: the page's own URL (default: ``/m/{org}/{magnet}`` on the base URL)."""
    secret = pub.settings.secret_key
    assignment = snap.assignment(visitor)
    token = form_token(secret, snap.magnet_id, visitor, assignment)
    canonical = canonical or pub.links().landing(snap.org_slug, snap.magnet_slug)
    ask = banner_needed(snap.consent_mode, pub.request.cookies)
    ctx = {**_context(pub, snap, assignment.variant, canonical),
           "experiment": assignment.experiment, "variant": assignment.variant,
           "show_banner": ask, "consent_action": f"/m/{snap.org_slug}/{snap.magnet_slug}/consent"}
    consent = consent_token(secret, snap.magnet_id, visitor) if ask else ""
    if errors or values:
        return html_page("landing.html", status, token=token, errors=errors or [],
                         values=values or {}, consent_token=consent, **ctx), assignment
    nonce = new_nonce()
    body = snap.pre_rendered(f"{assignment.variant}|{int(ask)}", canonical, lambda: render(
        "landing.html", nonce=NONCE_SLOT, token=TOKEN_SLOT, consent_token=CONSENT_SLOT,
        errors=[], values={}, **ctx))
    body = body.replace(NONCE_SLOT, nonce).replace(TOKEN_SLOT, token)
    if ask:
        body = body.replace(CONSENT_SLOT, consent)
    return HTMLResponse(body, status, headers=page_headers(nonce)), assignment


async def _snapshot(pub: Public, org_slug: str, magnet_slug: str) -> LandingSnapshot:
    """The page's cached snapshot; the database only when it changed (off the loop)."""
    snap = pub.pages.cached(org_slug, magnet_slug)
    if snap is None:
        snap = await anyio.to_thread.run_sync(pub.pages.get, org_slug, magnet_slug)
    return snap


def gone_page(exc: MagnetGoneError) -> HTMLResponse:
    return message_page(410, "This offer has ended", f"{exc.message}. Thank you for your "
                        "interest.", headers={"Cache-Control": "public, max-age=300"})


def not_found_page() -> HTMLResponse:
    return message_page(404, "Page not found", "There is no page at this address. Check the "
                        "link you followed.")


@router.get("/m/{org_slug}/{magnet_slug}")
async def landing_page(org_slug: str, magnet_slug: str, request: Request,
                       pub: PublicDep) -> Response:
    """A published magnet's landing page, in the visitor's variant."""
    try:
        snap = await _snapshot(pub, org_slug, magnet_slug)
    except MagnetGoneError as exc:
        return gone_page(exc)
    except NotFoundError:
        return not_found_page()
    return await serve_landing(request, pub, snap)


async def serve_landing(request: Request, pub: Public, snap: LandingSnapshot,
                        canonical: str = "") -> Response:
    """The landing page of ``snap`` for this request's visitor, its events recorded."""
    visitor, new_visitor = _visitor(request, pub, snap)
    page, assignment = _landing(pub, snap, visitor, canonical=canonical)
    if request.query_params.get("embed") == "1":  # the iframe snippet
        frames = " ".join(snap.frame_origins) or "'none'"
        page.headers["Content-Security-Policy"] = page.headers[
            "Content-Security-Policy"].replace("frame-ancestors 'none'",
                                               f"frame-ancestors {frames}")
    url = str(request.url)
    common = {"org_id": snap.org_id, "site_id": snap.site_id, "visitor_id": visitor,
              "magnet_id": snap.magnet_id, "url": url,
              "referrer": request.headers.get("referer", ""),
              "utm": utm_of(url), "experiment": assignment.experiment,
              "variant": assignment.variant, **pub.facts()}
    rows = [event_row("magnet_view", **common)]
    exposed_key = EXPOSED_COOKIE + assignment.experiment
    with_cookies = new_visitor or VISITOR_COOKIE in request.cookies
    # Without cookies there is no memory of an earlier exposure: like the snippet, each
    # view records one (the analytics count distinct visitors).
    first_exposure = (assignment.records_exposure
                      and request.cookies.get(exposed_key) != visitor)
    if first_exposure:
        rows.append(event_row("exposure", **common))
    await pub.record_async(rows)
    cookie = {"max_age": COOKIE_AGE, "path": "/", "samesite": "lax",
              "secure": request.url.scheme == "https"}
    if new_visitor:
        page.set_cookie(VISITOR_COOKIE, visitor, **cookie)  # type: ignore[arg-type]
    stale = request.cookies.get(VISITOR_COOKIE)
    if stale and stale != visitor and not new_visitor:  # consent withdrawn or not recorded
        page.delete_cookie(VISITOR_COOKIE, path="/")
        if request.cookies.get(CONSENT_COOKIE) == GRANTED:
            # withdrawn: remember the refusal; never recorded: ask again
            if pub.analytics_consent(snap.org_id, stale) is False:
                page.set_cookie(CONSENT_COOKIE, DENIED, **cookie)  # type: ignore[arg-type]
            else:
                page.delete_cookie(CONSENT_COOKIE, path="/")
    if first_exposure and with_cookies:
        page.set_cookie(exposed_key, visitor, **cookie)  # type: ignore[arg-type]
    page.headers["Vary"] = "Cookie"
    return page


@router.post("/m/{org_slug}/{magnet_slug}/consent")
async def consent_choice(org_slug: str, magnet_slug: str, request: Request, pub: PublicDep,
                         raw: FormData) -> Response:
    """The consent banner's answer: cookies for this browser, then back to the page."""
    try:
        snap = await _snapshot(pub, org_slug, magnet_slug)
    except (MagnetGoneError, NotFoundError):
        return not_found_page()
    try:
        granted, visitor = read_choice(pub.settings.secret_key, snap.magnet_id, raw)
    except DomainError as exc:
        return _refusal(request, 400, exc)
    if VISITOR_RE.match(visitor):  # the record is the truth the collector and pages read
        await anyio.to_thread.run_sync(pub.record_analytics_consent, snap.org_id, visitor,
                                       granted)
    response: Response = (JSONResponse({"consent": GRANTED if granted else DENIED})
                          if _wants_json(request) else
                          RedirectResponse(f"/m/{snap.org_slug}/{snap.magnet_slug}", 303))
    cookie = {"max_age": COOKIE_AGE, "path": "/", "samesite": "lax",
              "secure": request.url.scheme == "https"}
    response.set_cookie(CONSENT_COOKIE, GRANTED if granted else DENIED,
                        **cookie)  # type: ignore[arg-type]
    if granted and VISITOR_RE.match(visitor):  # the id the page used: the variant stays
        response.set_cookie(VISITOR_COOKIE, visitor, **cookie)  # type: ignore[arg-type]
    return response


def _refusal(request: Request, status: int, exc: DomainError,
             headers: dict[str, str] | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": {"code": exc.code, "message": exc.message,
                                       "details": exc.details}}, status, headers=headers)
    return message_page(status, "We could not take this sign-up", exc.message,
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
            content = page_content(magnet, str(claim.get("a") or ""),
                                   form_consents(db.session, org.id))
            try:
                form = parse_form(raw, content)
            except OptInError as exc:
                if _wants_json(request):
                    raise
                values = {k: str(v[-1])[:1000] for k, v in raw.items()
                          if k != "token" and isinstance(v, list) and v}
                page, _ = _landing(pub, pub.pages.get(org_slug, magnet_slug),
                                   str(claim.get("v") or ""), 422,
                                   [d["message"] if d["field"] in ("email", "name") else
                                    f"{d['field']}: {d['message']}" for d in exc.details],
                                   values)
                return page
            visitor = str(claim.get("v") or "")
            referer = request.headers.get("referer", "")
            outcome = submit(db.session, magnet, form, org_name=org.name, links=links,
                             visitor_id=visitor, variant=str(claim.get("a") or ""),
                             utm=utm_of(referer),
                             pii_policy=org_policy(org.settings, pub.settings.pii_policy))
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
                filename, is_placeholder = delivery_name(db.session, magnet)
                ctx = {"download_url": f"{links.base}/d/{d}", "filename": filename,
                       "ttl_hours": pub.settings.download_link_ttl_hours,
                       "placeholder": is_placeholder}
            title = "Check your inbox" if state == "pending" else "Thank you"
            return message_page(200, title, MESSAGES[state], org=org,
                            back_url=links.landing(org.slug, magnet.slug), **ctx)
    except (NotFoundError, MagnetGoneError, tokens.TokenError):
        return message_page(404, "Page not found", "There is no page at this address.")


@router.get("/p/{org_slug}/privacy")
def privacy(org_slug: str, pub: PublicDep) -> Response:
    """What the landing pages of this organization collect, and why."""
    try:
        with pub.org_by_slug(org_slug) as (org, _db):
            name = org.name
    except NotFoundError:
        return message_page(404, "Page not found", "There is no page at this address.")
    return message_page(
        200, f"Privacy at {name}",
        f"When you sign up on a page of {name} we keep your email address, the name and "
        "answers you gave, the consents you ticked (with their wording) and when you "
        "confirmed. We use them to send what you asked for and, only if you agreed, "
        "occasional mail.",
        "The pages set one first-party cookie (ls_vid) holding a random id, so that you see "
        "the same version of a page on each visit; it is not shared with anyone."
        if ConsentMode(org.consent_mode) == ConsentMode.FIRST_PARTY else
        "The pages set no cookie: visits are counted with a daily-changing keyed hash of "
        "your network address and browser, from which neither can be recovered.",
        "Every mail has a one-click unsubscribe link.")
