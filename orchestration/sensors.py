"""Sensors: automatic promotion of experiment winners under guardrails."""

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from experiments.autopilot import holdout_round, promotion_round
from orchestration.alerts import alerting
from orchestration.resources import MetadataResource, WarehouseResource


@sensor(
    name="experiment_promotion",
    minimum_interval_seconds=180,
    default_status=DefaultSensorStatus.RUNNING,
    description="Every 3 minutes: evaluate running experiments (runtime, sample size, SRM, "
    "always-valid significance, guardrails) and promote the winner when every check holds; "
    "watch promoted experiments' holdouts and roll back when a guardrail is shown harmed.",
)
@alerting("sensor", "experiment_promotion", ["experiments (promotion)"])
def experiment_promotion(
    context: SensorEvaluationContext, warehouse: WarehouseResource, metadata: MetadataResource
) -> SkipReason:
    """Promote winners; record why every other running experiment is not promoted; watch
    holdouts."""
    with warehouse.open() as wh, metadata.session() as session:
        outcomes = promotion_round(wh, session)
        watched = holdout_round(wh, session)
    lines = [
        f"{o.experiment_key}: promoted {o.winner}" if o.promoted
        else f"{o.experiment_key}: not yet ({'; '.join(o.reasons)[:200]})"
        for o in outcomes
    ] + [
        f"{o.experiment_key}: rolled back ({'; '.join(o.reasons)[:200]})" if o.rolled_back
        else f"{o.experiment_key}: holdout ended, {o.winner} is final" if o.final
        else f"{o.experiment_key}: holdout running, no harm shown"
        for o in watched
    ]
    for line in lines:
        context.log.info(line)
    return SkipReason("; ".join(lines) or "no running experiments")
