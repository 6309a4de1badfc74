"""Every attribution model over every organization's conversion paths."""

from __future__ import annotations

import polars as pl

from pipelines.attribution import MODELS, attribute

#: Identical paths summed; a converting path is worth its magnet's lead value.
PATHS_SQL = """
SELECT cp.org_id AS org_id, cp.path AS path,
    toFloat64(sumIf(cp.journeys, cp.converted = 1)) AS conversions,
    toFloat64(sumIf(cp.journeys, cp.converted = 0)) AS non_conversions,
    sum(if(cp.converted = 1, lv.lead_value, 0)) AS value
FROM {{ ref('conversion_paths') }} AS cp
LEFT JOIN {{ ref('lead_values') }} AS lv
    ON cp.org_id = lv.org_id AND cp.magnet_id = lv.magnet_id
GROUP BY org_id, path
"""

#: One row per conversion with its touch times, for time decay.
TIMED_SQL = """
SELECT cp.org_id AS org_id, cp.path AS path, cp.touch_times AS touch_times,
    cp.conversion_time AS conversion_time, toFloat64(1) AS conversions,
    lv.lead_value AS value
FROM {{ ref('conversion_paths') }} AS cp
LEFT JOIN {{ ref('lead_values') }} AS lv
    ON cp.org_id = lv.org_id AND cp.magnet_id = lv.magnet_id
WHERE cp.converted = 1
"""

HALF_LIFE_DAYS = 7.0
MARKOV_ORDER = 1


def attribute_all(paths: pl.DataFrame, timed: pl.DataFrame,
                  models: tuple[str, ...] = MODELS) -> pl.DataFrame:
    """``org_id, model, channel, conversions, value`` for every org and model.

    Args:
        paths: ``org_id, path, conversions, non_conversions, value`` (identical paths summed).
        timed: ``org_id, path, touch_times, conversion_time, conversions, value``, one row per
            conversion (time decay weighs touches by their age at the conversion).
        models: the models to run (all of :data:`pipelines.attribution.MODELS` by default);
            time decay uses a 7-day half-life, Markov order 1, Shapley exact up to 15 channels.
    """
    frames = []
    for org in sorted(set(paths["org_id"].to_list())):
        org_paths = paths.filter(pl.col("org_id") == org).drop("org_id")
        org_timed = timed.filter(pl.col("org_id") == org).drop("org_id")
        for model in models:
            source = org_timed if model == "time_decay" else org_paths
            credit = attribute(source, model,  # type: ignore[arg-type]
                               order=MARKOV_ORDER, half_life_days=HALF_LIFE_DAYS)
            if model == "time_decay":
                credit = _with_silent_channels(credit, org_paths)
            frames.append(credit.select(pl.lit(org).alias("org_id"), pl.lit(model).alias("model"),
                                        "channel", "conversions", "value"))
    if not frames:
        return pl.DataFrame(schema={"org_id": pl.String, "model": pl.String,
                                    "channel": pl.String, "conversions": pl.Float64,
                                    "value": pl.Float64})
    return pl.concat(frames)


def _with_silent_channels(credit: pl.DataFrame, paths: pl.DataFrame) -> pl.DataFrame:
    """Time decay sees only converting paths; list every channel like the other models do."""
    channels = paths["path"].explode().unique().drop_nulls()
    missing = channels.filter(~channels.is_in(credit["channel"].implode()))
    if missing.len() == 0:
        return credit
    zero = pl.DataFrame({"channel": missing, "conversions": 0.0, "value": 0.0},
                        schema=credit.schema)
    return pl.concat([credit, zero]).sort("channel")
