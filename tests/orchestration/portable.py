"""One dataset through the whole graph on any backend; the facts to compare across backends.

Run in-process for the lake, and in a child process for a chDB data directory (chDB allows
one data directory per process).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dagster import materialize

from kernel.settings import Settings
from kernel.warehouse import open_warehouse
from lodestone.seed import load_seeded
from lodestone.simulate import generate_table
from orchestration.assets.experiments import experiment_results
from orchestration.assets.sessions import sessions
from orchestration.definitions import all_assets, all_checks
from orchestration.resources import MetadataResource, WarehouseResource

QUERIES = {
    "sessions": "SELECT channel, count() AS n, sum(events) AS e FROM {{ ref('sessions') }} "
                "GROUP BY channel ORDER BY channel",
    "funnels": "SELECT magnet_id, variant, step, visitors, round(step_ci_low, 9) AS lo, "
               "median_seconds_from_previous AS med FROM {{ ref('funnels') }} "
               "ORDER BY magnet_id, variant, step_index",
    "cohorts": "SELECT toString(cohort_week) AS w, channel, magnet_id, weeks_since, leads, "
               "returned, round(revenue, 6) AS revenue FROM {{ ref('cohorts') }} "
               "ORDER BY w, channel, magnet_id, weeks_since",
    "attribution": "SELECT model, channel, round(conversions, 6) AS c, round(value, 4) AS v "
                   "FROM {{ ref('attribution') }} ORDER BY model, channel",
    "roi": "SELECT model, channel, spend, round(roas, 6) AS roas, payback_weeks "
           "FROM {{ ref('roi') }} ORDER BY model, channel",
    "experiments": "SELECT experiment_key, toString(look_date) AS d, variant, users, "
                   "conversions, round(lift, 9) AS lift FROM {{ ref('experiment_results') }} "
                   "ORDER BY experiment_key, d, variant",
    "daily": "SELECT toString(day) AS d, magnet_id, variant, visitors, leads "
             "FROM {{ ref('daily_magnet_metrics') }} ORDER BY d, magnet_id, variant",
}


def run(settings: Settings, shared: Path, now_ms: int, visitors: int = 1500) -> dict[str, Any]:
    """Write the same simulated events, materialize every asset, return comparable facts."""
    org = load_seeded(shared)["demo"]
    table, _ = generate_table(org, visitors, 30, seed=5, now_ms=now_ms)
    with open_warehouse(settings) as wh:
        wh.migrate()
        wh.insert_events(table, "portable")
    resources = {"warehouse": WarehouseResource(warehouse_url=settings.warehouse_url,
                                                data_dir=str(settings.data_path)),
                 "metadata": MetadataResource(metadata_url=settings.metadata_url)}
    result = materialize([*all_assets, *all_checks],  # type: ignore[list-item]
                         resources=resources)
    facts: dict[str, Any] = {
        "success": result.success,
        "checks": sorted((c.check_name, c.passed) for c in result.get_asset_check_evaluations()),
    }
    with open_warehouse(settings) as wh:
        facts["kind"] = wh.kind
        for name, sql in QUERIES.items():
            facts[name] = wh.query(sql)
        day = wh.query("SELECT toString(max(day) - 3) AS d FROM {{ ref('sessions') }}")[0]["d"]
    # a daily run replaces one partition (REPLACE PARTITION on ClickHouse) with the same rows
    again = materialize([sessions, experiment_results], partition_key=day, resources=resources)
    with open_warehouse(settings) as wh:
        facts["partition_run_same"] = again.success and all(
            wh.query(QUERIES[name]) == facts[name] for name in ("sessions", "experiments"))
    return facts
