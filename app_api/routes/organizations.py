"""The caller's own organization (the only one it can see)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from app_api.deps import Context, PermRead, PermTeam
from app_api.errors import not_found
from app_api.routes.common import OrganizationOut
from app_api.schemas import ID_PATTERN, In, JSONObject, Name
from kernel.metadata.enums import ConsentMode
from kernel.metadata.models import Organization

router = APIRouter(prefix="/v1/organizations", tags=["organizations"])

OrgId = Annotated[str, Path(max_length=64, pattern=ID_PATTERN)]


class OrganizationPage(BaseModel):
    data: list[OrganizationOut]
    next_cursor: str | None = None


class OrganizationPatch(In):
    name: Name | None = None
    consent_mode: ConsentMode | None = None
    settings: JSONObject | None = None


def _own(ctx: Context, org_id: str) -> Organization:
    org = ctx.db.get(Organization, org_id)
    if org is None:
        raise not_found("organization", org_id)
    return org


@router.get("", response_model=OrganizationPage)
def list_organizations(ctx: PermRead) -> OrganizationPage:
    """The organizations you can see: exactly your own."""
    return OrganizationPage(data=[OrganizationOut.model_validate(ctx.db.organization())])


@router.get("/{org_id}", response_model=OrganizationOut)
def get_organization(org_id: OrgId, ctx: PermRead) -> Organization:
    """Your organization (any other id answers 404)."""
    return _own(ctx, org_id)


@router.patch("/{org_id}", response_model=OrganizationOut)
def update_organization(org_id: OrgId, body: OrganizationPatch, ctx: PermTeam) -> Organization:
    """Rename your organization or change its consent mode and settings."""
    org = _own(ctx, org_id)
    ctx.update(org, "organization", body.model_dump(exclude_unset=True, exclude_none=True))
    return org
