"""The Dagster definitions: documented, owned, scheduled, and runnable from the CLI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dagster import (
    AssetKey,
    RunRequest,
    build_schedule_context,
    instance_for_test,
    materialize,
)

from kernel.settings import Settings
from kernel.warehouse.lake_backend import LakeWarehouse
from lodestone.cli import main
from orchestration.assets.sessions import sessions
from orchestration.automation import RANGE_END, RANGE_START, analytics_hourly, rollup_after_daily
from orchestration.definitions import all_assets, all_checks, defs
from orchestration.resources import WarehouseResource
from tests.pipelines.builders import at, event, load

ANALYTICS = {"sessions", "funnels", "cohorts", "conversion_paths", "lead_values",
             "attribution", "roi", "experiment_results"}


def _specs() -> dict[str, object]:
    return {spec.key.to_user_string(): spec for a in all_assets for spec in a.specs}  # type: ignore[union-attr]


def test_every_asset_has_a_description_owners_and_checks() -> None:
    specs = _specs()
    assert ANALYTICS | {"daily_magnet_metrics"} <= set(specs)
    checked = {c.asset_key.to_user_string() for check in all_checks for c in check.check_specs}
    for name, spec in specs.items():
        assert spec.description and len(spec.description.splitlines()[0]) > 20, name  # type: ignore[attr-defined]
        assert spec.owners, name  # type: ignore[attr-defined]
        assert name in checked, f"{name} has no asset check"
    partitioned = {name for name, spec in specs.items()
                   if spec.partitions_def is not None}  # type: ignore[attr-defined]
    assert partitioned == {"sessions", "experiment_results"}
    repo = defs.get_repository_def()
    assert {"analytics_cycle", "analytics_daily", "analytics_rollup", "refresh_metrics",
            "compact_lake"} <= set(
        repo.job_names)
    assert defs.resolve_asset_graph().has(AssetKey("events"))  # the source, for lineage


def test_hourly_schedule_backfills_once_then_closes_yesterday_after_midnight(
        tmp_path: Path) -> None:
    with instance_for_test() as instance:
        def requests(when: dt.datetime) -> list[RunRequest]:
            ctx = build_schedule_context(instance=instance, scheduled_execution_time=when)
            return [analytics_hourly(ctx)]  # type: ignore[list-item]

        first = requests(dt.datetime(2026, 3, 3, 0, 10, tzinfo=dt.UTC))
        assert [r.tags for r in first] == [{RANGE_START: "2024-01-01", RANGE_END: "2026-03-03"}]
        with LakeWarehouse(tmp_path / "lake") as wh:
            load(wh, [event("v", at(0))])
        materialize([sessions], instance=instance, partition_key="2026-03-02",
                    resources={"warehouse": WarehouseResource(data_dir=str(tmp_path))})
        after_midnight = requests(dt.datetime(2026, 3, 3, 0, 10, tzinfo=dt.UTC))
        assert [r.tags for r in after_midnight] == [  # both days in ONE run
            {RANGE_START: "2026-03-02", RANGE_END: "2026-03-03"}]
        assert [r.partition_key for r in requests(
            dt.datetime(2026, 3, 3, 9, 10, tzinfo=dt.UTC))] == ["2026-03-03"]
    assert rollup_after_daily.job_name == "analytics_rollup"


def test_cli_materializes_the_graph(settings: Settings) -> None:
    from lodestone.services import init_storage

    init_storage(settings)
    wh = LakeWarehouse(settings.lake_dir)
    load(wh, [event("v", at(0), look="search"), event("v", at(1), "lead", magnet_id="m")])
    wh.close()
    assert main(["materialize", "sessions", "conversion_paths", "funnels"]) == 0
    assert main(["materialize"]) == 0
    with LakeWarehouse(settings.lake_dir) as wh:
        assert wh.scalar("SELECT sum(conversions) FROM {{ ref('attribution') }} "
                         "WHERE model = 'markov'") == 1.0
