"""Recording every model call in ``ai_generations``, and the monthly token budget it feeds.

Rows are written in their own short transactions (a session factory, not the caller's
session) so that a failed step is still on record after the caller rolls back.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from content.ai.errors import BudgetExceededError
from kernel.metadata.enums import GenerationStatus
from kernel.metadata.models import AIGeneration, Organization
from kernel.metadata.types import utcnow
from kernel.settings import Settings

#: Longest prompt / answer text kept on a row (characters).
TEXT_LIMIT = 200_000


def estimate_tokens(text: str) -> int:
    """Rough token count (4 characters a token, as OpenAI's rule of thumb) for unmetered answers."""
    return max(1, (len(text) + 3) // 4)


def prompt_text(messages: list[dict[str, Any]]) -> str:
    """The prompt as stored: the messages as JSON lines."""
    return "\n".join(json.dumps(m, ensure_ascii=False) for m in messages)


def record(sessions: sessionmaker[Session], *, org_id: str, magnet_id: str | None, step: str,
           model: str, prompt: str, response: str | None, tokens_in: int, tokens_out: int,
           latency_ms: int, status: GenerationStatus, error: str | None = None,
           created_by: str | None = None) -> str:
    """Insert one ``ai_generations`` row and commit it; returns its id."""
    with sessions.begin() as session:
        row = AIGeneration(
            org_id=org_id, magnet_id=magnet_id, step=step, model=model[:200],
            prompt=prompt[:TEXT_LIMIT], response=None if response is None else response[:TEXT_LIMIT],
            tokens_in=tokens_in, tokens_out=tokens_out, latency_ms=latency_ms, status=status,
            error=None if error is None else error[:4000], created_by=created_by)
        session.add(row)
        session.flush()
        return row.id


def month_start(now: dt.datetime | None = None) -> dt.datetime:
    now = now or utcnow()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(now: dt.datetime | None = None) -> dt.date:
    start = month_start(now)
    return (start + dt.timedelta(days=32)).replace(day=1).date()


def tokens_used(session: Session, org_id: str, now: dt.datetime | None = None) -> int:
    """Tokens (prompt + answer) the organization used this calendar month (UTC)."""
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(AIGeneration.tokens_in + AIGeneration.tokens_out), 0))
        .where(AIGeneration.org_id == org_id, AIGeneration.created_at >= month_start(now)))
    return int(total or 0)


def org_ai_settings(session: Session, org_id: str) -> dict[str, Any]:
    """The organization's ``settings["ai"]`` overrides (``model``, ``monthly_token_budget``)."""
    org = session.get(Organization, org_id)
    value = (org.settings or {}).get("ai") if org is not None else None
    return value if isinstance(value, dict) else {}


def monthly_limit(session: Session, org_id: str, settings: Settings) -> int:
    """The organization's monthly token budget (0 = unlimited)."""
    override = org_ai_settings(session, org_id).get("monthly_token_budget")
    if isinstance(override, int) and override >= 0:
        return override
    return settings.ai_monthly_token_budget


def remaining_tokens(sessions: sessionmaker[Session], org_id: str, settings: Settings) -> int | None:
    """Tokens left this month, or None when the organization has no monthly limit."""
    with sessions() as session:
        limit = monthly_limit(session, org_id, settings)
        if limit == 0:
            return None
        return max(0, limit - tokens_used(session, org_id))


def ensure_budget(sessions: sessionmaker[Session], org_id: str, settings: Settings,
                  needed: int, *, step: str = "", model: str = "") -> int | None:
    """Raise BudgetExceededError when fewer than ``needed`` tokens are left; return what is left."""
    left = remaining_tokens(sessions, org_id, settings)
    if left is not None and left < needed:
        with sessions() as session:
            limit = monthly_limit(session, org_id, settings)
        used = limit - left
        raise BudgetExceededError(
            f"this organization has used {used:,} of its {limit:,} AI tokens this month and this "
            f"step needs about {needed:,}; the budget resets on {next_month().isoformat()}. Raise the "
            "organization's ai.monthly_token_budget or LODESTONE_AI_MONTHLY_TOKEN_BUDGET, or write "
            "the draft offline.", used=used, limit=limit, step=step, model=model)
    return left
