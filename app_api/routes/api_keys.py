"""API keys for machines: visible prefix, hashed secret, scopes, last use, revocation."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import Field, field_validator

from app_api.auth.key_rights import key_out
from app_api.deps import Context, PermTeam
from app_api.errors import APIError, conflict
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.schemas import In, Name, Out, Page, PathId
from kernel.metadata.models import ApiKey
from kernel.metadata.tokens import generate_api_key
from kernel.metadata.types import utcnow
from kernel.permissions import ALL_PERMISSIONS, unknown_permissions

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


class ApiKeyIn(In):
    name: Name
    scopes: list[str] = Field(min_length=1, max_length=len(ALL_PERMISSIONS),
                              description=f"Permissions: {', '.join(ALL_PERMISSIONS)}")
    mode: str = Field("live", pattern="^(live|test)$")

    @field_validator("scopes")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = unknown_permissions(value)
        if unknown:
            raise ValueError(f"unknown permission {unknown[0]!r}; use {', '.join(ALL_PERMISSIONS)}")
        return sorted(set(value))


class ApiKeyOut(Out):
    id: str
    name: str
    prefix: str = Field(description="Visible start of the key, e.g. ls_live_1a2b3c4d.")
    scopes: list[str]
    created_by: str | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    is_active: bool
    created_at: dt.datetime
    effective_scopes: list[str] | None = Field(
        None, description="What the key may do now: its scopes within its creator's current "
        "role (empty once the creator is deactivated).")
    limited_by_role: str | None = Field(
        None, description="The creator's role, when it narrows the key's scopes.")


class ApiKeyCreated(ApiKeyOut):
    token: str = Field(description="The full key. Shown once: store it now.")


def _get(ctx: Context, key_id: str) -> ApiKey:
    return ctx.get(ApiKey, key_id, "API key")


@router.get("", response_model=Page[ApiKeyOut])
def list_api_keys(ctx: PermTeam, active: bool | None = None, cursor: str | None = CursorQuery,
                  limit: int = LimitQuery) -> dict[str, object]:
    """API keys of your organization (never their secrets); filter by active."""
    stmt = ctx.db.select(ApiKey)
    if active is True:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    elif active is False:
        stmt = stmt.where(ApiKey.revoked_at.is_not(None))
    rows, nxt = paginate(ctx.db, stmt, ApiKey, cursor, limit)
    return {"data": [_out(ctx, k) for k in rows], "next_cursor": nxt}


@router.post("", response_model=ApiKeyCreated, status_code=201)
def create_api_key(body: ApiKeyIn, ctx: PermTeam) -> ApiKeyCreated:
    """Create a key; the response holds the token, which is never shown again."""
    beyond = [s for s in body.scopes if s not in ctx.principal.scopes]
    if beyond:
        raise APIError(403, "forbidden",
                       f"you cannot grant {beyond[0]}: a key gets at most your own permissions")
    new = generate_api_key("live" if body.mode == "live" else "test")
    # A key made with a key belongs to that key's creator: its rights follow theirs.
    creator = (ctx.principal.actor if ctx.principal.actor_type == "user"
               else ctx.principal.creator)
    key = ctx.create(ApiKey(name=body.name, prefix=new.prefix, secret_hash=new.secret_hash,
                            scopes=body.scopes, created_by=creator), "api_key")
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), token=new.token)


@router.get("/{key_id}", response_model=ApiKeyOut)
def get_api_key(key_id: PathId, ctx: PermTeam) -> ApiKeyOut:
    """One API key (prefix, scopes, what its creator's role lets it do now, last use)."""
    return _out(ctx, _get(ctx, key_id))


def _out(ctx: Context, key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key).model_copy(update=key_out(ctx.db.session, key))


@router.post("/{key_id}/revoke", response_model=ApiKeyOut)
def revoke_api_key(key_id: PathId, ctx: PermTeam) -> ApiKey:
    """Revoke a key at once; requests with it answer 401 from now on."""
    key = _get(ctx, key_id)
    if key.revoked_at is not None:
        raise conflict(f"API key {key.prefix} is already revoked")
    # the collector in this process reloads on commit (kernel.metadata.revisions)
    ctx.update(key, "api_key", {"revoked_at": utcnow()}, action="revoked")
    return key
