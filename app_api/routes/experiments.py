"""A/B tests: create, list, read, edit (in draft), delete (in draft)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AfterValidator, BaseModel, Field

from app_api.deps import Context, PermRead, PermWrite
from app_api.errors import APIError, conflict, not_found
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.schemas import (
    ID_PATTERN,
    Finite,
    Id,
    In,
    Key,
    Label,
    LongText,
    Name,
    Out,
    Page,
    PathId,
    Url,
)
from experiments.lifecycle import validate_variants
from kernel.metadata.enums import ExperimentStatus
from kernel.metadata.models import Experiment, LeadMagnet

router = APIRouter(prefix="/v1/experiments", tags=["experiments"])

ExperimentKey = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Metric = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
#: Fields that define what is being tested; they change only before the test starts.
DESIGN_FIELDS = ("magnet_id", "target_url", "primary_metric", "guardrail_metrics", "variants",
                 "coverage", "min_runtime_hours", "min_users_per_arm", "alpha",
                 "min_conversions", "srm_threshold", "guardrail_alpha", "mde", "guardrails")


def _margin(value: float) -> float:
    if not math.isfinite(value) or not 0 < value < 1:
        raise ValueError(f"margin must be a relative loss above 0 and below 1 (0.15 = the "
                         f"metric may drop by at most 15 %), got {value!r}")
    return value


def _mde(value: float | None) -> float | None:
    if value is not None and (not math.isfinite(value) or not 0 < value <= 10):
        raise ValueError(f"mde (the smallest relative lift worth detecting) must be above 0 "
                         f"and at most 10 (0.1 = +10 %), got {value!r}; send null for the "
                         f"two-sided test without a planned effect")
    return value


def _unique_metrics(rules: list[Any] | None) -> list[Any] | None:
    metrics = [r.metric for r in rules or []]
    repeated = sorted({m for m in metrics if metrics.count(m) > 1})
    if repeated:
        raise ValueError(f"one rule per guardrail metric; repeated: {', '.join(repeated)}")
    return rules


Margin = Annotated[float, AfterValidator(_margin)]
Mde = Annotated[float | None, AfterValidator(_mde)]
Direction = Literal["higher_is_better", "lower_is_better"]


class GuardrailRule(In):
    """A guardrail metric and the loss it tolerates: the winner is promoted only when a
    loss beyond ``margin`` is ruled out (always-valid non-inferiority test)."""

    metric: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    margin: Margin
    direction: Direction = "higher_is_better"


class Arm(BaseModel):
    key: Key
    name: Label = ""
    weight: Finite = Field(gt=0, le=1)


class ExperimentOut(Out):
    id: str
    key: str
    name: str
    magnet_id: str | None
    target_url: str | None
    hypothesis: str
    primary_metric: str
    guardrail_metrics: list[str]
    variants: list[dict[str, Any]]
    coverage: float
    status: ExperimentStatus
    winner: str | None
    started_at: dt.datetime | None
    stopped_at: dt.datetime | None
    decision: dict[str, Any] | None
    min_runtime_hours: int
    min_users_per_arm: int
    alpha: float
    min_conversions: int
    srm_threshold: float
    guardrail_alpha: float
    mde: float | None
    guardrails: list[dict[str, Any]] | None
    holdout_share: float
    holdout_days: int
    holdout_started_at: dt.datetime | None
    holdout_ends_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ExperimentIn(In):
    key: ExperimentKey
    name: Name
    magnet_id: Id | None = None
    target_url: Url | None = None
    hypothesis: LongText = ""
    primary_metric: Metric = "lead"
    guardrail_metrics: list[Metric] = Field(default_factory=list, max_length=20)
    variants: list[Arm] = Field(min_length=2, max_length=20)
    coverage: Finite = Field(1.0, ge=0, le=1)
    min_runtime_hours: int = Field(72, ge=0, le=24 * 365)
    min_users_per_arm: int = Field(1000, ge=0, le=10**9)
    alpha: Finite = Field(0.05, gt=0, lt=1)
    min_conversions: int = Field(30, ge=0, le=10**9)
    srm_threshold: Finite = Field(0.001, ge=0, lt=1)
    guardrail_alpha: Finite = Field(0.05, gt=0, lt=1)
    mde: Mde = 0.10
    guardrails: Annotated[list[GuardrailRule], AfterValidator(_unique_metrics)] = Field(
        default_factory=list, max_length=20)
    #: after promotion this share keeps the control for holdout_days (0 disables)
    holdout_share: Finite = Field(0.05, ge=0, le=0.5)
    holdout_days: int = Field(30, ge=0, le=365)


class ExperimentPatch(In):
    name: Name | None = None
    hypothesis: LongText | None = None
    magnet_id: Id | None = None
    target_url: Url | None = None
    primary_metric: Metric | None = None
    guardrail_metrics: list[Metric] | None = Field(None, max_length=20)
    variants: list[Arm] | None = Field(None, min_length=2, max_length=20)
    coverage: Finite | None = Field(None, ge=0, le=1)
    min_runtime_hours: int | None = Field(None, ge=0, le=24 * 365)
    min_users_per_arm: int | None = Field(None, ge=0, le=10**9)
    alpha: Finite | None = Field(None, gt=0, lt=1)
    # no null: these columns always hold a value (null is refused, not ignored)
    min_conversions: int = Field(None, ge=0, le=10**9)  # type: ignore[assignment]
    srm_threshold: Finite = Field(None, ge=0, lt=1)  # type: ignore[assignment]
    guardrail_alpha: Finite = Field(None, gt=0, lt=1)  # type: ignore[assignment]
    mde: Mde = None
    guardrails: Annotated[list[GuardrailRule] | None, AfterValidator(_unique_metrics)] = Field(
        None, max_length=20)
    holdout_share: Finite = Field(None, ge=0, le=0.5)  # type: ignore[assignment]
    holdout_days: int = Field(None, ge=0, le=365)  # type: ignore[assignment]


def get_experiment(ctx: Context, experiment_id: str) -> Experiment:
    """The caller's experiment or 404."""
    return ctx.get(Experiment, experiment_id, "experiment")


def _check_design(ctx: Context, values: dict[str, Any]) -> None:
    if values.get("magnet_id") is not None and ctx.db.get(LeadMagnet, values["magnet_id"]) is None:
        raise not_found("magnet", values["magnet_id"])
    if "variants" in values and values["variants"] is not None:
        problems = validate_variants(values["variants"])
        if problems:
            raise APIError(422, "invalid", "variants: " + "; ".join(problems),
                           details=[{"field": "variants", "message": p} for p in problems])


@router.get("", response_model=Page[ExperimentOut])
def list_experiments(
    ctx: PermRead,
    status: ExperimentStatus | None = None,
    magnet_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    cursor: str | None = CursorQuery,
    limit: int = LimitQuery,
) -> dict[str, object]:
    """Experiments of your organization, newest first; filter by status or magnet."""
    stmt = ctx.db.select(Experiment)
    if status is not None:
        stmt = stmt.where(Experiment.status == status)
    if magnet_id:
        stmt = stmt.where(Experiment.magnet_id == magnet_id)
    rows, nxt = paginate(ctx.db, stmt, Experiment, cursor, limit)
    return {"data": rows, "next_cursor": nxt}


@router.post("", response_model=ExperimentOut, status_code=201)
def create_experiment(body: ExperimentIn, ctx: PermWrite) -> Experiment:
    """Create an experiment in draft; start it with POST /v1/experiments/{id}/start."""
    values = body.model_dump()
    _check_design(ctx, values)
    if ctx.db.scalar(ctx.db.select(Experiment).where(Experiment.key == body.key)) is not None:
        raise conflict(f"an experiment with key {body.key!r} already exists")
    return ctx.create(Experiment(**values, status=ExperimentStatus.DRAFT), "experiment")


@router.get("/{experiment_id}", response_model=ExperimentOut)
def read_experiment(experiment_id: PathId, ctx: PermRead) -> Experiment:
    """One experiment with its status, winner and latest decision."""
    return get_experiment(ctx, experiment_id)


@router.patch("/{experiment_id}", response_model=ExperimentOut)
def update_experiment(experiment_id: PathId, body: ExperimentPatch,
                      ctx: PermWrite) -> Experiment:
    """Edit an experiment; its design (variants, metrics, targeting) only while in draft."""
    exp = get_experiment(ctx, experiment_id)
    changes = body.model_dump(exclude_unset=True)
    for name in ("name", "hypothesis", "primary_metric", "guardrail_metrics", "variants",
                 "coverage", "min_runtime_hours", "min_users_per_arm", "alpha"):
        if name in changes and changes[name] is None:
            changes.pop(name)
    design = [f for f in DESIGN_FIELDS if f in changes]
    if design and exp.status != ExperimentStatus.DRAFT:
        raise conflict(f"{', '.join(design)} cannot change once an experiment has started "
                       f"(it is {ExperimentStatus(exp.status).value}); create a new experiment")
    holdout = [f for f in ("holdout_share", "holdout_days") if f in changes]
    if holdout and exp.holdout_started_at is not None:
        raise conflict(f"{', '.join(holdout)} cannot change while the holdout runs (until "
                       f"{exp.holdout_ends_at}); roll the experiment back or wait for its end")
    _check_design(ctx, changes)
    ctx.update(exp, "experiment", changes)
    return exp


@router.delete("/{experiment_id}", status_code=204)
def delete_experiment(experiment_id: PathId, ctx: PermWrite) -> Response:
    """Delete an experiment that never started."""
    exp = get_experiment(ctx, experiment_id)
    if exp.status != ExperimentStatus.DRAFT:
        raise conflict(f"experiment is {ExperimentStatus(exp.status).value}; only drafts can be "
                       "deleted (stop or roll it back instead)")
    ctx.delete(exp, "experiment")
    return Response(status_code=204)
