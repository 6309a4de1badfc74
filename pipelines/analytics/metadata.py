"""What the analytics read from the metadata database, as polars frames."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.metadata.enums import ExperimentStatus
from kernel.metadata.models import AdSpend, Experiment, LeadMagnet

ANALYSED_STATUSES = (ExperimentStatus.RUNNING, ExperimentStatus.PROMOTED)


def magnets(session: Session) -> pl.DataFrame:
    """``org_id, magnet_id, name, configured_value`` (NULL when no lead value is set)."""
    rows = session.execute(
        sa.select(LeadMagnet.org_id, LeadMagnet.id, LeadMagnet.name, LeadMagnet.lead_value)
    ).all()
    return pl.DataFrame(
        [tuple(r) for r in rows], orient="row",
        schema={"org_id": pl.String, "magnet_id": pl.String, "name": pl.String,
                "configured_value": pl.Float64},
    )


def ad_spend(session: Session) -> pl.DataFrame:
    """``org_id, date, channel, campaign, amount, currency`` — one row per uploaded line."""
    rows = session.execute(
        sa.select(AdSpend.org_id, AdSpend.date, AdSpend.channel, AdSpend.campaign,
                  AdSpend.amount, AdSpend.currency)
    ).all()
    return pl.DataFrame(
        [tuple(r) for r in rows], orient="row",
        schema={"org_id": pl.String, "date": pl.Date, "channel": pl.String,
                "campaign": pl.String, "amount": pl.Float64, "currency": pl.String},
    )


def experiments(session: Session) -> list[dict[str, Any]]:
    """Running and promoted experiments with what their analysis needs."""
    rows = session.scalars(
        sa.select(Experiment).where(Experiment.status.in_(ANALYSED_STATUSES))
        .order_by(Experiment.org_id, Experiment.key)
    ).all()
    return [
        {
            "org_id": e.org_id, "key": e.key, "magnet_id": e.magnet_id or "",
            "metric": e.primary_metric, "alpha": float(e.alpha),
            "variants": [str(v["key"]) for v in e.variants],
            "weights": [float(v.get("weight", 1.0)) for v in e.variants],
            "started": _date(e.started_at), "stopped": _date(e.stopped_at),
        }
        for e in rows
    ]


def _date(value: dt.datetime | None) -> dt.date | None:
    return None if value is None else value.astimezone(dt.UTC).date()
