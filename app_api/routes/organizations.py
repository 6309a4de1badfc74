"""The caller's own organization (the only one it can see)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app_api.deps import Context, PermRead, PermTeam
from app_api.schemas import In, JSONObject, Name, OrganizationOut, PathId
from kernel.metadata.enums import ConsentMode
from kernel.metadata.models import Organization
from kernel.pii import POLICIES
from privacy.pii_policy import PolicyError

router = APIRouter(prefix="/v1/organizations", tags=["organizations"])


class OrganizationPage(BaseModel):
    data: list[OrganizationOut]
    next_cursor: str | None = None


class OrganizationPatch(In):
    name: Name | None = None
    consent_mode: ConsentMode | None = None
    settings: JSONObject | None = None


def _own(ctx: Context, org_id: str) -> Organization:
    return ctx.get(Organization, org_id, "organization")


@router.get("", response_model=OrganizationPage)
def list_organizations(ctx: PermRead) -> OrganizationPage:
    """The organizations you can see: exactly your own."""
    return OrganizationPage(data=[OrganizationOut.model_validate(ctx.db.organization())])


@router.get("/{org_id}", response_model=OrganizationOut)
def get_organization(org_id: PathId, ctx: PermRead) -> Organization:
    """Your organization (any other id answers 404)."""
    return _own(ctx, org_id)


@router.patch("/{org_id}", response_model=OrganizationOut)
def update_organization(org_id: PathId, body: OrganizationPatch, ctx: PermTeam) -> Organization:
    """Rename your organization or change its consent mode and settings."""
    org = _own(ctx, org_id)
    if body.settings is not None and "pii_policy" in body.settings and \
            body.settings["pii_policy"] not in (*POLICIES, None):
        raise PolicyError(f"settings.pii_policy must be one of {', '.join(POLICIES)}",
                          [{"field": "settings.pii_policy"}])
    ctx.update(org, "organization", body.model_dump(exclude_unset=True, exclude_none=True))
    return org
