"""Value of a lead per magnet: the value set on the magnet, else what its leads went on to buy."""

from __future__ import annotations

import polars as pl

#: Per organization and magnet: visitors who opted in, and what they bought from then on.
LEARNED_SQL = """
WITH
leads AS (
    SELECT cityHash64(org_id, visitor_id) AS vk, any(org_id) AS l_org, magnet_id AS l_magnet,
        min(toUnixTimestamp64Milli(ts)) AS lead_ms
    FROM {{ source('events') }}
    WHERE event = 'lead' AND magnet_id != '' AND visitor_id != ''
    GROUP BY vk, magnet_id
),
buys AS (
    SELECT cityHash64(org_id, visitor_id) AS vk, groupArray(toUnixTimestamp64Milli(ts)) AS ms,
        groupArray(value) AS amounts
    FROM {{ source('events') }}
    WHERE event = 'purchase' AND visitor_id != ''
    GROUP BY vk
)
SELECT l.l_org AS org_id, l.l_magnet AS magnet_id, toInt64(count()) AS leads,
    sum(arraySum((t, x) -> if(t >= l.lead_ms, x, 0), b.ms, b.amounts)) AS revenue_after_lead
FROM leads AS l
LEFT JOIN buys AS b ON l.vk = b.vk
GROUP BY org_id, magnet_id
"""


def lead_values(configured: pl.DataFrame, learned: pl.DataFrame) -> pl.DataFrame:
    """One row per (org, magnet) known to either side.

    Args:
        configured: ``org_id, magnet_id, configured_value`` (NULL = not set) from metadata.
        learned: ``org_id, magnet_id, leads, revenue_after_lead`` from :data:`LEARNED_SQL`.

    Returns:
        ``org_id, magnet_id, leads, revenue_after_lead, learned_value, configured_value,
        lead_value, source`` where ``source`` is "configured" or "learned" (revenue after
        the opt-in per lead; 0 without leads). A purchase counts for every magnet its buyer
        opted in to, and recent leads have had less time to buy: set a value to override.
    """
    keys = ["org_id", "magnet_id"]
    conf = configured.select(*keys, pl.col("configured_value").cast(pl.Float64))
    lrn = learned.select(*keys, pl.col("leads").cast(pl.Int64),
                         pl.col("revenue_after_lead").cast(pl.Float64))
    out = conf.join(lrn, on=keys, how="full", coalesce=True).with_columns(
        pl.col("leads").fill_null(0), pl.col("revenue_after_lead").fill_null(0.0))
    learned_value = pl.when(pl.col("leads") > 0).then(
        pl.col("revenue_after_lead") / pl.col("leads")).otherwise(0.0)
    return out.with_columns(learned_value.alias("learned_value")).with_columns(
        pl.coalesce("configured_value", "learned_value").alias("lead_value"),
        pl.when(pl.col("configured_value").is_null()).then(pl.lit("learned"))
        .otherwise(pl.lit("configured")).alias("source"),
    ).sort(keys)
