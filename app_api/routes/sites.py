"""Websites that embed the snippet/pixel, with the browser origins allowed to send events."""

from __future__ import annotations

import datetime as dt
import re

from fastapi import APIRouter, Response
from pydantic import Field, field_validator

from app_api.deps import Context, PermRead, PermTeam
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.schemas import In, Name, Out, Page, PathId
from kernel.metadata.models import Site

router = APIRouter(prefix="/v1/sites", tags=["sites"])

_HOST = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
                   r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$|^\*$")


def _origins(value: list[str]) -> list[str]:
    cleaned = []
    for origin in value:
        o = origin.strip().rstrip("/").lower()
        if not _ORIGIN.match(o):
            raise ValueError(
                f"{origin!r} is not an origin; use scheme://host[:port], e.g. "
                "https://www.example.com, or '*' for any origin")
        cleaned.append(o)
    return sorted(set(cleaned))


def _domain(value: str | None) -> str | None:
    """A host name, lower-cased; '' or None removes the domain."""
    if not value:
        return None
    host = value.strip().lower().rstrip(".")
    if not _HOST.match(host):
        raise ValueError(f"{value!r} is not a host name; give the bare name that points at "
                         "this server, e.g. go.example.com (no scheme, port or path)")
    return host


DOMAIN_HELP = ("Host name (e.g. go.example.com, its DNS pointing at this server) that serves "
               "this site's magnets' landing pages at /{magnet slug}; '' removes it.")


class SiteIn(In):
    name: Name
    allowed_origins: list[str] = Field(default_factory=list, max_length=100)
    custom_domain: str | None = Field(None, max_length=253, description=DOMAIN_HELP)

    @field_validator("allowed_origins")
    @classmethod
    def _check(cls, value: list[str]) -> list[str]:
        return _origins(value)

    @field_validator("custom_domain")
    @classmethod
    def _check_domain(cls, value: str | None) -> str | None:
        return _domain(value)


class SitePatch(In):
    name: Name | None = None
    allowed_origins: list[str] | None = Field(None, max_length=100)
    custom_domain: str | None = Field(None, max_length=253, description=DOMAIN_HELP)

    @field_validator("allowed_origins")
    @classmethod
    def _check(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _origins(value)

    @field_validator("custom_domain")
    @classmethod
    def _check_domain(cls, value: str | None) -> str | None:
        return _domain(value)


class SiteOut(Out):
    id: str
    name: str
    site_key: str = Field(description="Public key used by the snippet and the pixel.")
    allowed_origins: list[str]
    custom_domain: str | None
    created_at: dt.datetime


def _get(ctx: Context, site_id: str) -> Site:
    return ctx.get(Site, site_id, "site")


@router.get("", response_model=Page[SiteOut])
def list_sites(ctx: PermRead, cursor: str | None = CursorQuery,
               limit: int = LimitQuery) -> dict[str, object]:
    """Sites of your organization, newest first."""
    rows, nxt = paginate(ctx.db, ctx.db.select(Site), Site, cursor, limit)
    return {"data": rows, "next_cursor": nxt}


@router.post("", response_model=SiteOut, status_code=201)
def create_site(body: SiteIn, ctx: PermTeam) -> Site:
    """Add a site; its site_key goes into the snippet."""
    return ctx.create(Site(name=body.name, allowed_origins=body.allowed_origins,
                           custom_domain=body.custom_domain), "site")


@router.get("/{site_id}", response_model=SiteOut)
def get_site(site_id: PathId, ctx: PermRead) -> Site:
    """One site."""
    return _get(ctx, site_id)


@router.patch("/{site_id}", response_model=SiteOut)
def update_site(site_id: PathId, body: SitePatch, ctx: PermTeam) -> Site:
    """Rename a site, replace its allowed origins or set its custom domain."""
    site = _get(ctx, site_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "custom_domain" in body.model_fields_set:  # None (from '') removes it
        changes["custom_domain"] = body.custom_domain
    ctx.update(site, "site", changes)
    return site


@router.delete("/{site_id}", status_code=204)
def delete_site(site_id: PathId, ctx: PermTeam) -> Response:
    """Delete a site; its snippet stops being accepted (magnets stay, unlinked)."""
    site = _get(ctx, site_id)
    ctx.delete(site, "site")
    return Response(status_code=204)
