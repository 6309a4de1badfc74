"""Experiment lifecycle actions (experiments/lifecycle.py does the work)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from pydantic import Field

from app_api.deps import Context, PermPromote, PermWrite
from app_api.errors import APIError
from app_api.routes.experiments import ExperimentOut, get_experiment
from app_api.schemas import In, JSONObject, Key, LongText, PathId
from experiments import lifecycle
from kernel.metadata.models import Experiment

router = APIRouter(prefix="/v1/experiments", tags=["experiments"])


class ReasonIn(In):
    note: LongText = ""
    details: JSONObject = Field(default_factory=dict)


class WinnerIn(In):
    winner: Key = Field(description="Key of the variant to serve to everyone.")
    note: LongText = ""
    details: JSONObject = Field(default_factory=dict)


def _run(ctx: Context, experiment_id: str, action: Callable[[Experiment], Experiment],
         ) -> Experiment:
    exp = get_experiment(ctx, experiment_id)
    try:
        action(exp)
    except lifecycle.LifecycleError as exc:
        ctx.db.rollback()
        raise APIError(409, "invalid_transition", str(exc), details=[{
            "action": exc.action, "status": exc.status, "allowed_from": exc.allowed_from}],
        ) from None
    ctx.db.commit()
    return exp


def _reason(body: ReasonIn | WinnerIn | None) -> dict[str, object]:
    if body is None:
        return {"source": "api"}
    return {"source": "api", "note": body.note, **({"details": body.details}
                                                  if body.details else {})}


@router.post("/{experiment_id}/start", response_model=ExperimentOut)
def start_experiment(experiment_id: PathId, ctx: PermWrite) -> Experiment:
    """Start assigning visitors (draft -> running)."""
    return _run(ctx, experiment_id,
                lambda e: lifecycle.start(ctx.db.session, e, ctx.actor))


@router.post("/{experiment_id}/stop", response_model=ExperimentOut)
def stop_experiment(experiment_id: PathId, ctx: PermWrite,
                    body: ReasonIn | None = None) -> Experiment:
    """Stop assigning visitors without choosing a winner (running -> stopped)."""
    return _run(ctx, experiment_id,
                lambda e: lifecycle.stop(ctx.db.session, e, ctx.actor, reason=_reason(body)))


@router.post("/{experiment_id}/promote", response_model=ExperimentOut)
def promote_experiment(experiment_id: PathId, body: WinnerIn,
                       ctx: PermPromote) -> Experiment:
    """Serve the winner to everyone (running|stopped -> promoted)."""
    return _run(ctx, experiment_id, lambda e: lifecycle.promote(
        ctx.db.session, e, body.winner, ctx.actor, _reason(body)))


@router.post("/{experiment_id}/override-winner", response_model=ExperimentOut)
def override_experiment_winner(experiment_id: PathId, body: WinnerIn,
                               ctx: PermPromote) -> Experiment:
    """A person picks the winner, also replacing an automatic promotion."""
    return _run(ctx, experiment_id, lambda e: lifecycle.override_winner(
        ctx.db.session, e, body.winner, ctx.actor, _reason(body)))


@router.post("/{experiment_id}/rollback", response_model=ExperimentOut)
def rollback_experiment(experiment_id: PathId, ctx: PermPromote,
                        body: ReasonIn | None = None) -> Experiment:
    """Serve the control to everyone again (running|stopped|promoted -> rolled_back)."""
    return _run(ctx, experiment_id, lambda e: lifecycle.rollback(
        ctx.db.session, e, ctx.actor, reason=_reason(body)))
