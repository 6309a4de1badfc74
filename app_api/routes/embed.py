"""Embedding on other sites: the versioned embed script and the form's JSON (CORS for the
magnet's site origins). The opt-in itself is the landing page's POST."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from app_api.public import PublicDep
from app_api.routes.landing import VISITOR_RE
from kernel.errors import NotFoundError
from leads.consent import form_consents
from publishing.embed import allowed_origin, script
from publishing.events import event_row
from publishing.landing import (
    MagnetGoneError,
    assignment_for,
    live_experiment,
    page_content,
    published_magnet,
)
from publishing.links import privacy_url
from publishing.optin import form_token

router = APIRouter(include_in_schema=False)


@router.get("/embed/v{version}.js")
def embed_script(version: int) -> Response:
    """The embed script of one version: immutable, readable cross-origin (for SRI)."""
    try:
        body, integrity = script(version)
    except KeyError:
        return Response("// no such embed version\n", 404, media_type="text/javascript")
    return Response(body, media_type="text/javascript; charset=utf-8", headers={
        "Cache-Control": "public, max-age=31536000, immutable",
        "Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff",
        "X-Integrity": integrity})


@router.get("/m/{org_slug}/{magnet_slug}/form.json")
def form_json(org_slug: str, magnet_slug: str, request: Request, pub: PublicDep,
              vid: str = Query("", max_length=64), first: int = 0) -> Response:
    """What the embed script renders: the visitor's variant of the form, with its token."""
    origin = request.headers.get("origin", "")
    visitor = vid if VISITOR_RE.match(vid) else ""
    try:
        with pub.org_by_slug(org_slug) as (org, db):
            magnet = published_magnet(db.session, org.id, magnet_slug)
            cors = allowed_origin(db.session, magnet, origin)
            assignment = assignment_for(live_experiment(db.session, magnet), visitor)
            content = page_content(magnet, assignment.variant, form_consents(db.session, org.id))
            links = pub.links()
            body: dict[str, Any] = {
                "headline": content.headline, "subheadline": content.subheadline,
                "cta": content.cta, "fields": content.fields, "consents": content.consents,
                "variant": assignment.variant, "experiment": assignment.experiment,
                "double_opt_in": magnet.double_opt_in, "privacy_url": privacy_url(org),
                "action": links.landing(org.slug, magnet.slug),
                "accent": str((magnet.design or {}).get("accent") or "#1d4ed8"),
                "token": form_token(pub.settings.secret_key, magnet.id, visitor, assignment)}
            ids = (org.id, magnet.site_id or "", magnet.id)
    except (NotFoundError, MagnetGoneError) as exc:
        return JSONResponse({"error": {"code": exc.code, "message": exc.message,
                                       "details": []}}, 410 if exc.code == "gone" else 404,
                            headers={"Access-Control-Allow-Origin": origin} if origin else {})
    headers = {"Cache-Control": "private, no-store", "Vary": "Origin"}
    if cors:
        headers["Access-Control-Allow-Origin"] = origin
    if visitor and cors:  # events only for the magnet's own sites and a usable visitor id
        common = {"org_id": ids[0], "site_id": ids[1], "visitor_id": visitor,
                  "magnet_id": ids[2], "url": request.headers.get("referer", origin),
                  "experiment": assignment.experiment, "variant": assignment.variant,
                  **pub.facts()}
        rows = [event_row("magnet_view", props={"embed": True}, **common)]
        if first and assignment.records_exposure:
            rows.append(event_row("exposure", props={"embed": True}, **common))
        pub.record(rows)
    return JSONResponse(body, headers=headers)
