"""Daily partitions: an incremental run rewrites only its day; a backfill runs once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dagster import materialize

from kernel.warehouse.lake_backend import LakeWarehouse
from orchestration.assets.experiments import experiment_results
from orchestration.assets.sessions import sessions
from tests.orchestration.simulated import build


def _files(wh: LakeWarehouse, model: str) -> dict[str, str]:
    return {f.partition: f.name for f in wh._model_table(model).files()}


def _snapshot(wh: LakeWarehouse) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    s = wh.query("SELECT session_id, channel, events, revenue FROM {{ ref('sessions') }} "
                 "ORDER BY session_id")
    e = wh.query("SELECT experiment_key, look_date, variant, users, conversions, lift "
                 "FROM {{ ref('experiment_results') }} ORDER BY experiment_key, look_date, variant")
    return s, e


def test_a_daily_run_touches_only_its_partition(tmp_path: Path) -> None:
    sim = build(tmp_path / "data", visitors=1500, seed=3)
    assert sim.result.success
    wh = sim.warehouse()
    before_sessions, before_results = _files(wh, "sessions"), _files(wh, "experiment_results")
    before = _snapshot(wh)
    assert len(before_sessions) >= 30 and len(before_results) >= 30  # one file per day
    day = sorted(before_sessions)[-5]
    result = materialize([sessions, experiment_results], partition_key=day,
                         resources=sim.resources())
    assert result.success
    after_sessions, after_results = _files(wh, "sessions"), _files(wh, "experiment_results")
    changed = {p for p in after_sessions if after_sessions[p] != before_sessions.get(p)}
    assert changed == {day}
    changed = {p for p in after_results if after_results[p] != before_results.get(p)}
    assert changed == {day}
    assert _snapshot(wh) == before  # same rows as the full run

    # a backfill of three days is one run over the range
    first = dt.date.fromisoformat(day) - dt.timedelta(days=2)
    result = materialize([sessions, experiment_results], resources=sim.resources(), tags={
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": day})
    assert result.success
    assert len({e.step_key for e in result.all_events if e.is_step_success}) == 2  # one run
    changed = {p for p, f in _files(wh, "sessions").items() if f != after_sessions.get(p)}
    assert changed == {(first + dt.timedelta(days=i)).isoformat() for i in range(3)}
    assert _snapshot(wh) == before
    wh.close()
