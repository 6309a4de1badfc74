"""The organization's brand kit (content/brand_kits.py): colours checked for WCAG AA
contrast, installed fonts, voice, and a logo sniffed by its content."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import StreamingResponse

from app_api.deps import Context, PermRead, PermWrite
from app_api.errors import APIError
from app_api.schemas import JSONObject, Out
from content import brand_kits
from content.artifacts import ArtifactStore
from content.brand import MAX_LOGO_BYTES, BrandKit

router = APIRouter(prefix="/v1/brand-kit", tags=["brand kit"])
#: The logo upload has its own body limit (the app's middleware reads this path).
LOGO_PATH = "/v1/brand-kit/logo"


class ContrastOut(Out):
    pair: str
    foreground: str
    background: str
    ratio: float
    minimum: float


class BrandKitOut(Out):
    kit: dict[str, Any]
    version: int
    logo_url: str | None
    logo_media_type: str | None
    contrast: list[ContrastOut]
    updated_at: dt.datetime | None


def _out(ctx: Context) -> dict[str, Any]:
    row = brand_kits.get_record(ctx.db.session, ctx.org_id)
    kit = BrandKit.model_validate(row.kit) if row else BrandKit()
    report = [{"pair": w, "foreground": fg, "background": bg, "ratio": round(r, 2),
               "minimum": m} for w, fg, bg, r, m in kit.contrast_report()]
    has_logo = bool(row and row.logo_sha256)
    return {"kit": kit.model_dump(mode="json", exclude={"logo"}),
            "version": row.version if row else 0,
            "logo_url": LOGO_PATH if has_logo else None,
            "logo_media_type": row.logo_media_type if row and has_logo else None,
            "contrast": report, "updated_at": row.updated_at if row else None}


def _user(ctx: Context) -> str | None:
    return ctx.principal.actor if ctx.principal.actor_type == "user" else None


@router.get("", response_model=BrandKitOut)
def read_brand_kit(ctx: PermRead) -> dict[str, Any]:
    """Your brand kit (the library's default when none is saved) with its contrast ratios."""
    return _out(ctx)


@router.put("", response_model=BrandKitOut)
def save_brand_kit(body: JSONObject, ctx: PermWrite) -> dict[str, Any]:
    """Replace the kit (name, company, website, colors, fonts, voice); 422 names a colour
    pair below WCAG AA with its ratio. The logo has its own endpoint."""
    brand_kits.save_kit(ctx.db.session, ctx.org_id, ctx.actor, body, _user(ctx))
    ctx.db.commit()
    return _out(ctx)


@router.put("/logo", response_model=BrandKitOut)
def upload_logo(
    ctx: PermWrite,
    body: Annotated[bytes, Body(media_type="application/octet-stream", description=(
        f"PNG, JPEG, GIF, WebP or SVG, at most {MAX_LOGO_BYTES // 1048576} MB; the type is "
        "read from the bytes, SVG is sanitised"))],
) -> dict[str, Any]:
    """Upload the logo (raw bytes); checked by content, not by name or header."""
    if not body:
        raise APIError(422, "invalid", "the logo upload is empty")
    brand_kits.set_logo(ctx.db.session, ctx.org_id, ctx.actor, body,
                        ArtifactStore.from_settings(ctx.settings), _user(ctx))
    ctx.db.commit()
    return _out(ctx)


@router.get("/logo", response_class=StreamingResponse,
            responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}})
def read_logo(ctx: PermRead) -> StreamingResponse:
    """The logo's bytes."""
    row = brand_kits.get_record(ctx.db.session, ctx.org_id)
    if row is None or not row.logo_sha256:
        raise APIError(404, "not_found", "your brand kit has no logo; PUT /v1/brand-kit/logo")
    store = ArtifactStore.from_settings(ctx.settings)
    return StreamingResponse(store.stream(row.logo_sha256),
                             media_type=row.logo_media_type or "application/octet-stream",
                             headers={"X-Content-Type-Options": "nosniff",
                                      "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
