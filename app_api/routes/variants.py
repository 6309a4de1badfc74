"""Variants of a magnet (the arms an experiment can serve), keyed 'A', 'B', …"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import Field

from app_api.deps import Context, PermRead, PermWrite
from app_api.errors import conflict, not_found
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.routes.magnets import VariantOut, get_magnet
from app_api.schemas import In, JSONObject, Key, Label, Page, PathId
from kernel.metadata.models import LeadMagnet, MagnetVariant

router = APIRouter(prefix="/v1/magnets/{magnet_id}/variants", tags=["magnets"])


class VariantIn(In):
    key: Key
    name: Label = ""
    content: JSONObject = Field(default_factory=dict)
    design: JSONObject = Field(default_factory=dict)
    is_control: bool = False


class VariantPatch(In):
    name: Label | None = None
    content: JSONObject | None = None
    design: JSONObject | None = None
    is_control: bool | None = None


def _get(ctx: Context, magnet: LeadMagnet, variant_id: str) -> MagnetVariant:
    variant = ctx.db.get(MagnetVariant, variant_id)
    if variant is None or variant.magnet_id != magnet.id:
        raise not_found("variant", variant_id)
    return variant


def _only_control(ctx: Context, magnet: LeadMagnet, keep: MagnetVariant) -> None:
    for other in ctx.db.scalars(ctx.db.select(MagnetVariant).where(
            MagnetVariant.magnet_id == magnet.id, MagnetVariant.id != keep.id,
            MagnetVariant.is_control.is_(True))):
        other.is_control = False


@router.get("", response_model=Page[VariantOut])
def list_variants(magnet_id: PathId, ctx: PermRead, cursor: str | None = CursorQuery,
                  limit: int = LimitQuery) -> dict[str, object]:
    """Variants of one magnet."""
    magnet = get_magnet(ctx, magnet_id)
    stmt = ctx.db.select(MagnetVariant).where(MagnetVariant.magnet_id == magnet.id)
    rows, nxt = paginate(ctx.db, stmt, MagnetVariant, cursor, limit)
    return {"data": rows, "next_cursor": nxt}


@router.post("", response_model=VariantOut, status_code=201)
def create_variant(magnet_id: PathId, body: VariantIn, ctx: PermWrite) -> MagnetVariant:
    """Add a variant; its key must be unique within the magnet."""
    magnet = get_magnet(ctx, magnet_id)
    taken = ctx.db.scalar(ctx.db.select(MagnetVariant).where(
        MagnetVariant.magnet_id == magnet.id, MagnetVariant.key == body.key))
    if taken is not None:
        raise conflict(f"magnet already has a variant with key {body.key!r}")
    variant = MagnetVariant(magnet_id=magnet.id, **body.model_dump())
    if variant.is_control:
        _only_control(ctx, magnet, variant)
    return ctx.create(variant, "variant")


@router.get("/{variant_id}", response_model=VariantOut)
def get_variant(magnet_id: PathId, variant_id: PathId, ctx: PermRead) -> MagnetVariant:
    """One variant."""
    return _get(ctx, get_magnet(ctx, magnet_id), variant_id)


@router.patch("/{variant_id}", response_model=VariantOut)
def update_variant(magnet_id: PathId, variant_id: PathId, body: VariantPatch,
                   ctx: PermWrite) -> MagnetVariant:
    """Edit a variant's name, content, design or control flag."""
    magnet = get_magnet(ctx, magnet_id)
    variant = _get(ctx, magnet, variant_id)
    if body.is_control:
        _only_control(ctx, magnet, variant)
    ctx.update(variant, "variant", body.model_dump(exclude_unset=True, exclude_none=True))
    return variant


@router.delete("/{variant_id}", status_code=204)
def delete_variant(magnet_id: PathId, variant_id: PathId, ctx: PermWrite) -> Response:
    """Delete a variant."""
    magnet = get_magnet(ctx, magnet_id)
    variant = _get(ctx, magnet, variant_id)
    ctx.delete(variant, "variant")
    return Response(status_code=204)

