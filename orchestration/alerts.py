"""Failures of schedules, sensors and the runs they launch: a metric and one log line each.

A tick that raises is counted in ``lodestone_automation_failures_total{kind, name}`` and
logged (error level, so ``up`` shows it on the console) with the assets it keeps fresh and
the reason; the exception is re-raised so Dagster marks the tick failed and evaluates the
sensor or schedule again on its next tick (a sensor's cursor only moves on success). A run
that fails is reported by :func:`report_run_failures` with the step (asset) that failed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from kernel.logs import get_logger
from kernel.telemetry import AUTOMATION_FAILURES

log = get_logger("lodestone.console.automation")
F = TypeVar("F", bound=Callable[..., Any])


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def alerting(kind: str, name: str, assets: Sequence[str]) -> Callable[[F], F]:
    """Wrap a schedule or sensor function: count and log a failed tick, then re-raise."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)  # keeps the signature: Dagster injects resources by name
        def evaluate(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                AUTOMATION_FAILURES.labels(kind, name).inc()
                log.error("automation_failed", kind=kind, name=name, assets=list(assets),
                          reason=_reason(exc), retry="next tick")
                raise

        return evaluate  # type: ignore[return-value]

    return wrap


@run_failure_sensor(name="report_run_failures", minimum_interval_seconds=30,
                    default_status=DefaultSensorStatus.RUNNING,
                    description="When a run fails: count it and log the asset that failed "
                                "and why (the schedule or sensor launches it again next tick).")
def report_run_failures(context: RunFailureSensorContext) -> None:
    """One metric increment and one log line per failed run."""
    job = context.dagster_run.job_name
    steps = context.get_step_failure_events()
    AUTOMATION_FAILURES.labels("run", job).inc()
    if not steps:
        log.error("automation_failed", kind="run", name=job, assets=[],
                  reason=(context.failure_event.message or "")[:500], retry="next tick")
    for step in steps:
        data = step.step_failure_data
        error = data.error if data else None
        if error is not None and error.cause is not None:  # the asset's own error, not
            error = error.cause                           # Dagster's "error in op" wrapper
        reason = (f"{error.cls_name}: {error.message.strip()}" if error is not None
                  else step.message or "")
        log.error("automation_failed", kind="run", name=job, assets=[step.step_key],
                  reason=reason[:500], retry="next tick")
