"""Automation: on by default, one run per job per tick, fresh partitions, a sized instance."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    SkipReason,
    build_run_status_sensor_context,
    build_sensor_context,
    instance_for_test,
    materialize,
)
from dagster._core.test_utils import create_run_for_test

from kernel.settings import Settings
from kernel.warehouse.lake_backend import LakeWarehouse
from lodestone.cli import main
from lodestone.services import dagster_home, init_storage
from orchestration.assets.sessions import sessions
from orchestration.automation import refresh_metrics_on_new_events, rollup_after_daily
from orchestration.definitions import defs
from orchestration.partitions import START_FILE, first_partition_day
from orchestration.resources import MetadataResource, WarehouseResource
from tests.helpers import make_settings
from tests.pipelines.builders import at, event, load


def test_every_schedule_and_sensor_runs_without_anyone_switching_it_on() -> None:
    repo = defs.get_repository_def()
    assert {s.name for s in repo.schedule_defs} == {"analytics_hourly",
                                                    "compact_lake_every_10_minutes",
                                                    "retention_daily"}
    for s in repo.schedule_defs:
        assert s.default_status == DefaultScheduleStatus.RUNNING, s.name
    assert {s.name for s in repo.sensor_defs} >= {"refresh_metrics_on_new_events",
                                                   "rollup_after_daily", "experiment_promotion"}
    for s in repo.sensor_defs:
        assert s.default_status == DefaultSensorStatus.RUNNING, s.name
    for name in repo.job_names:
        if not name.startswith("__"):
            assert defs.resolve_job_def(name).executor_def.name == "in_process", name
            assert defs.resolve_job_def(name).tags.get("lodestone/lane") in {"heavy", "light"}


def _resources(tmp_path: Path) -> dict[str, object]:
    return {"warehouse": WarehouseResource(data_dir=str(tmp_path)),
            "metadata": MetadataResource(metadata_url=f"sqlite:///{tmp_path}/m.db")}


def test_refresh_sensor_runs_once_per_change_of_the_events(tmp_path: Path) -> None:
    wh = LakeWarehouse(tmp_path / "lake")
    load(wh, [event("v", at(0), "magnet_view", magnet_id="m")])
    resources = _resources(tmp_path)
    with instance_for_test() as instance:
        def tick(cursor: str | None) -> RunRequest | SkipReason:
            ctx = build_sensor_context(instance=instance, cursor=cursor, resources=resources)
            out = refresh_metrics_on_new_events(ctx)
            tick.cursor = ctx.cursor  # type: ignore[attr-defined]
            return out  # type: ignore[return-value]

        first = tick(None)
        assert isinstance(first, RunRequest)
        cursor = tick.cursor  # type: ignore[attr-defined]
        assert isinstance(tick(cursor), SkipReason)  # nothing new: no run

        load(wh, [event("w", at(5), "lead", magnet_id="m")], token="t2")
        run = create_run_for_test(instance, job_name="refresh_metrics",
                                  status=DagsterRunStatus.STARTED)
        busy = tick(cursor)  # new events while a refresh runs: wait for it, keep the cursor
        assert isinstance(busy, SkipReason) and tick.cursor == cursor  # type: ignore[attr-defined]
        instance.report_run_failed(run)
        second = tick(cursor)
        assert isinstance(second, RunRequest) and second.run_key != first.run_key
        cursor = tick.cursor  # type: ignore[attr-defined]
        # the refresh failed: the next tick tries again although no event arrived
        retry = tick(cursor)
        assert isinstance(retry, RunRequest) and "retry-after" in (retry.run_key or "")
    wh.close()


def test_rollup_sensor_never_queues_a_second_identical_rollup(tmp_path: Path) -> None:
    wh = LakeWarehouse(tmp_path / "lake")
    load(wh, [event("v", at(0)), event("v", at(1), "lead", magnet_id="m")])
    wh.close()
    with instance_for_test() as instance:
        result = materialize([sessions], instance=instance,
                             partition_key="2026-03-02", resources=_resources(tmp_path),
                             tags={"dagster/run_key": "2026-03-02@2026-03-02T09"})
        success = result.get_run_success_event()

        def tick() -> RunRequest | SkipReason:
            ctx = build_run_status_sensor_context(
                sensor_name=rollup_after_daily.name, dagster_event=success,
                dagster_instance=instance, dagster_run=result.dagster_run)
            return rollup_after_daily(ctx)  # type: ignore[return-value]

        request = tick()
        assert isinstance(request, RunRequest)
        assert request.run_key == "rollup-after:2026-03-02@2026-03-02T09"
        create_run_for_test(instance, job_name="analytics_rollup",
                            status=DagsterRunStatus.NOT_STARTED)  # launched, not yet running
        assert isinstance(tick(), SkipReason)


def test_partitions_start_at_the_first_day_with_events(tmp_path: Path) -> None:
    pinned = make_settings(tmp_path / "a", partitions_start="2025-06-01")
    assert first_partition_day(pinned) == dt.date(2025, 6, 1)

    settings = make_settings(tmp_path / "b", partitions_start="")
    assert first_partition_day(settings) == dt.datetime.now(dt.UTC).date()  # no events yet
    assert not (settings.data_path / START_FILE).exists() and not settings.lake_dir.exists()

    with LakeWarehouse(settings.lake_dir) as wh:
        load(wh, [event("v", at(0, days=-3)), event("v", at(0))])
    assert first_partition_day(settings) == dt.date(2026, 2, 27)
    with LakeWarehouse(settings.lake_dir) as wh:  # older events later: the start stays put
        load(wh, [event("v", at(0, days=-30))], token="t2")
    assert first_partition_day(settings) == dt.date(2026, 2, 27)
    assert (settings.data_path / START_FILE).read_text() == "2026-02-27"


def test_the_instance_up_writes_fits_two_cores(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    home = dagster_home(settings)
    with DagsterInstance.from_config(str(home)) as instance:
        coordinator = instance.run_coordinator
        assert coordinator.get_run_queue_config().max_concurrent_runs == 2  # type: ignore[attr-defined]
        limits = coordinator.get_run_queue_config().tag_concurrency_limits  # type: ignore[attr-defined]
        assert {"key": "lodestone/lane", "value": "heavy", "limit": 1} in limits


def test_cli_materialize_runs_show_in_the_products_dagster_instance(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    init_storage(settings)
    with LakeWarehouse(settings.lake_dir) as wh:
        load(wh, [event("v", at(0), "magnet_view", magnet_id="m")])
    assert main(["materialize", "daily_magnet_metrics"]) == 0
    with DagsterInstance.from_config(str(settings.data_path / "dagster")) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1 and runs[0].status == DagsterRunStatus.SUCCESS
        assert runs[0].tags["lodestone/launched_by"] == "cli"
        assert instance.get_latest_materialization_event(
            AssetKey("daily_magnet_metrics")) is not None
