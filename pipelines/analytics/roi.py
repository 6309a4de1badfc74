"""Return on ad spend per channel and attribution model."""

from __future__ import annotations

import re

import polars as pl

from pipelines.attribution import MODELS

#: Cumulative revenue per lead by weeks since the opt-in, per first-touch channel.
PAYBACK_SQL = """
SELECT org_id, channel, weeks_since,
    sum(cumulative_revenue) / sum(leads) AS value_per_lead
FROM {{ ref('cohorts') }}
GROUP BY org_id, channel, weeks_since
"""

# Names people type for GA4 channels, beyond the lower_snake_case of GA4's display names.
ALIASES = {"mobile_push_notifications": "mobile_push", "affiliate": "affiliates",
           "search": "organic_search", "social": "organic_social", "paid": "paid_search",
           "cpc": "paid_search", "ppc": "paid_search", "e_mail": "email", "none": "direct"}


def channel_key(name: str) -> str:
    """An uploaded channel name as a sessions channel id: 'Paid Search' -> 'paid_search'."""
    key = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    return ALIASES.get(key, key)


def roi(credit: pl.DataFrame, spend: pl.DataFrame, payback: pl.DataFrame) -> pl.DataFrame:
    """Spend, attributed leads and value, cost per lead, ROAS, ROI and payback.

    Args:
        credit: ``org_id, model, channel, conversions, value`` (the attribution table).
        spend: ``org_id, channel, campaign, amount, currency`` (ad spend lines; all dates).
        payback: ``org_id, channel, weeks_since, value_per_lead`` (:data:`PAYBACK_SQL`).

    Returns:
        One row per org, model and channel with credit or spend: ``spend, currency,
        conversions, value, cost_per_lead, roas, roi, payback_weeks, error``. ROAS is value /
        spend and ROI (value - spend) / spend, with value = attributed lead value; they are
        NULL without spend, and cost per lead is NULL without leads. ``payback_weeks`` is the
        first week after the opt-in at which the channel's leads (by first touch) have
        bought more per lead than the cost per lead; NULL when not reached yet. Spend in
        several currencies of one org is not added up: its ratios are NULL and ``error`` says so.
    """
    spend = spend.with_columns(
        pl.col("channel").map_elements(channel_key, return_dtype=pl.String))
    per_channel = spend.group_by("org_id", "channel").agg(pl.col("amount").sum().alias("spend"))
    currencies = spend.group_by("org_id").agg(
        pl.col("currency").unique().sort().str.join(", ").alias("currency"),
        (pl.col("currency").n_unique() > 1).alias("mixed"))
    # every model gets every spend line, also for an org without any conversion path yet
    models = pl.concat([
        credit.select("org_id", "model"),
        per_channel.select("org_id").join(pl.DataFrame({"model": list(MODELS)}), how="cross"),
    ]).unique()
    spend_rows = per_channel.join(models, on="org_id", how="inner")
    keys = ["org_id", "model", "channel"]
    out = credit.join(spend_rows.select(*keys, "spend"), on=keys, how="full", coalesce=True)
    out = out.with_columns(pl.col("spend").fill_null(0.0), pl.col("conversions").fill_null(0.0),
                           pl.col("value").fill_null(0.0))
    out = out.join(currencies, on="org_id", how="left").with_columns(
        pl.col("currency").fill_null(""), pl.col("mixed").fill_null(False))
    has_spend = (pl.col("spend") > 0) & ~pl.col("mixed")
    out = out.with_columns(
        pl.when((pl.col("conversions") > 0) & ~pl.col("mixed"))
        .then(pl.col("spend") / pl.col("conversions")).alias("cost_per_lead"),
        pl.when(has_spend).then(pl.col("value") / pl.col("spend")).alias("roas"),
        pl.when(has_spend).then((pl.col("value") - pl.col("spend")) / pl.col("spend")).alias("roi"),
        pl.when(pl.col("mixed"))
        .then(pl.format("ad spend in several currencies ({}); convert it to one before "
                        "uploading", pl.col("currency")))
        .otherwise(pl.lit("")).alias("error"),
    )
    return _payback(out, payback).sort(keys)


def _payback(out: pl.DataFrame, payback: pl.DataFrame) -> pl.DataFrame:
    reached = out.filter(pl.col("cost_per_lead").is_not_null() & (pl.col("spend") > 0)).join(
        payback, on=["org_id", "channel"], how="inner"
    ).filter(pl.col("value_per_lead") >= pl.col("cost_per_lead")).group_by(
        "org_id", "model", "channel").agg(pl.col("weeks_since").min().cast(pl.Int64)
                                          .alias("payback_weeks"))
    return out.join(reached, on=["org_id", "model", "channel"], how="left")
