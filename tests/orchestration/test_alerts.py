"""A failing schedule, sensor or run: a metric, one log line with asset and reason, and the
next tick retries."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    RunRequest,
    build_run_status_sensor_context,
    build_sensor_context,
    instance_for_test,
    materialize,
)
from prometheus_client import REGISTRY

from kernel.logs import configure_logging
from kernel.warehouse.lake_backend import LakeWarehouse
from orchestration.alerts import report_run_failures
from orchestration.assets.metrics import daily_magnet_metrics
from orchestration.automation import refresh_metrics_on_new_events
from orchestration.resources import MetadataResource, WarehouseResource
from tests.helpers import free_port
from tests.pipelines.builders import at, event, load


def _failures(kind: str, name: str) -> float:
    return REGISTRY.get_sample_value("lodestone_automation_failures_total",
                                     {"kind": kind, "name": name}) or 0.0


@pytest.fixture()
def log_file(tmp_path: Path) -> Iterator[Path]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    path = configure_logging(tmp_path / "logs", "daemon", json_console=True)
    assert path is not None
    yield path
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def _lines(path: Path) -> list[dict[str, object]]:
    return [r for r in map(json.loads, path.read_text().splitlines())
            if r.get("event") == "automation_failed"]


def test_a_failing_sensor_tick_is_counted_logged_and_retried_next_tick(
        tmp_path: Path, log_file: Path) -> None:
    down = WarehouseResource(warehouse_url=f"http://127.0.0.1:{free_port()}/lodestone")
    up = WarehouseResource(data_dir=str(tmp_path))
    with LakeWarehouse(tmp_path / "lake") as wh:
        load(wh, [event("v", at(0), "magnet_view", magnet_id="m")])
    name = refresh_metrics_on_new_events.name
    before = _failures("sensor", name)
    with instance_for_test() as instance:
        ctx = build_sensor_context(instance=instance, cursor=None,
                                   resources={"warehouse": down})
        with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
            refresh_metrics_on_new_events(ctx)
        assert ctx.cursor is None  # nothing consumed: the next tick sees the same events
        assert _failures("sensor", name) == before + 1
        (line,) = _lines(log_file)
        assert line["name"] == name and line["kind"] == "sensor"
        assert line["assets"] == ["daily_magnet_metrics"] and line["reason"]
        assert line["level"] == "error"

        retry = build_sensor_context(instance=instance, cursor=ctx.cursor,
                                     resources={"warehouse": up})
        assert isinstance(refresh_metrics_on_new_events(retry), RunRequest)
    assert _failures("sensor", name) == before + 1


def test_a_failed_run_names_the_asset_and_the_reason(tmp_path: Path, log_file: Path) -> None:
    broken = WarehouseResource(warehouse_url=f"http://127.0.0.1:{free_port()}/lodestone")
    before = _failures("run", "__ephemeral_asset_job__")
    with instance_for_test() as instance:
        result = materialize([daily_magnet_metrics], instance=instance, raise_on_error=False,
                             resources={"warehouse": broken,
                                        "metadata": MetadataResource(
                                            metadata_url=f"sqlite:///{tmp_path}/m.db")})
        assert not result.success
        failure = next(e for e in result.all_events
                       if e.event_type == DagsterEventType.RUN_FAILURE)
        ctx = build_run_status_sensor_context(
            sensor_name=report_run_failures.name, dagster_event=failure,
            dagster_instance=instance, dagster_run=result.dagster_run).for_run_failure()
        report_run_failures(ctx)
    assert _failures("run", "__ephemeral_asset_job__") == before + 1
    lines = _lines(log_file)
    assert [line["assets"] for line in lines] == [["daily_magnet_metrics"]]
    assert lines[0]["kind"] == "run" and "127.0.0.1" in str(lines[0]["reason"])
