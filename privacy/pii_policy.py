"""An organization's PII policy: what happens to personal data found in free text.

Stored in the organization's settings (``settings.pii_policy``: ``redact``, ``refuse`` or
``off``); without one, ``LODESTONE_PII_POLICY`` applies. Read by the collector for event
props (its registry, refreshed like sites and keys: one dictionary lookup per batch), by the
opt-in form for free-text answers and by the AI client for prompts (``kernel.pii.org_policy``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kernel.errors import DomainError, NotFoundError
from kernel.metadata.audit import Actor, record
from kernel.metadata.models import Organization
from kernel.pii import POLICIES, org_policy


class PolicyError(DomainError):
    code = "invalid"


def current(org: Organization, default: str) -> dict[str, Any]:
    """``{"policy": its own or None, "effective": what applies, "default": the global}``."""
    own = (org.settings or {}).get("pii_policy")
    return {"policy": own if own in POLICIES else None,
            "effective": org_policy(org.settings, default), "default": default}


def set_policy(session: Session, org_id: str, actor: Actor, policy: str | None,
               default: str) -> dict[str, Any]:
    """Set the organization's policy (None: follow ``LODESTONE_PII_POLICY``), audited; the
    caller commits (the commit bumps the organization's config revision, so every collector
    applies it within about a second, the committing process at once).

    Raises:
        PolicyError: not one of redact, refuse, off.
    """
    if policy is not None and policy not in POLICIES:
        raise PolicyError(f"policy must be one of {', '.join(POLICIES)}, or null for the "
                          "server's default", [{"field": "policy"}])
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFoundError("organization", org_id)
    before = current(org, default)
    settings = dict(org.settings or {})
    if policy is None:
        settings.pop("pii_policy", None)
    else:
        settings["pii_policy"] = policy
    org.settings = settings  # a new dict: the JSON column sees the change
    session.flush()
    after = current(org, default)
    record(session, org_id=org_id, actor=actor, action="privacy.pii_policy_updated",
           resource_type="organization", resource_id=org_id,
           before={"policy": before["policy"]}, after={"policy": after["policy"]})
    return after
