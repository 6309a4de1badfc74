"""The Overview's roll-ups change no number: every query over roll-ups (plus the raw tail
received since their watermark) equals the same query over the raw events, late events
included."""

from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from app_api.overview_data import CACHE, DAILY, OverviewData
from app_api.scoped_warehouse import ScopedWarehouse
from kernel.warehouse import open_warehouse
from orchestration.assets.overview import overview_daily
from tests.dashboards.conftest import World
from tests.dashboards.test_metrics import truth


def _both(wh: ScopedWarehouse, first: dt.date, last: dt.date) -> list[tuple[object, object]]:
    """(roll-up answer, raw answer) for every kind of Overview query."""
    out = []
    for rollups in (True, False):
        d = OverviewData(wh, rollups)
        out.append((
            d.windows({"period": (first, last), "last_week": (last - dt.timedelta(days=6), last)},
                      "", {}),
            d.grouped("magnet_id", first, last, "", {}, 100),
            d.grouped("country", first, last, " AND device = {dv:String}", {"dv": "mobile"}, 100),
            d.grouped("day", first, last, "", {}, 400),
            d.sessions_grouped("landing_page", first, last, "", {}, 100)[1],
            d.sessions_grouped("channel", first, last, "", {}, 100)[1],
        ))
    return list(zip(*out, strict=True))


def _same(a: object, b: object) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-6)
    else:
        assert a == b


def test_rollups_equal_raw_events(world: World) -> None:
    today = dt.datetime.now(dt.UTC).date()
    first = today - dt.timedelta(days=20)
    with open_warehouse(world.settings) as raw_wh:
        assert raw_wh.has_model(DAILY)
        wh = ScopedWarehouse(raw_wh, world.a.seeded.org_id)
        answers = _both(wh, first, today)
        for rolled, raw in answers:
            _same(rolled, raw)
        assert answers[0][0]["period"]["leads"] > 20  # type: ignore[index]
        channels = answers[5][0]
        assert len(channels) >= 3 and sum(r["leads"] for r in channels) > 0  # type: ignore[union-attr]


def test_late_events_are_counted_until_the_next_rollup(world: World) -> None:
    """Events received after the roll-up ran, for days it already rolled up, are read raw."""
    org = "org_latecomer"
    table = world.b.events
    table = table.set_column(table.schema.get_field_index("org_id"), "org_id",
                             pa.array([org] * table.num_rows))
    early, late = table.slice(0, table.num_rows // 2), table.slice(table.num_rows // 2)
    now = int(time.time() * 1000)
    late = late.set_column(late.schema.get_field_index("received_at"), "received_at",
                           pc.cast(pa.array([now] * late.num_rows), pa.timestamp("ms", tz="UTC")))
    today = dt.datetime.now(dt.UTC).date()
    first = today - dt.timedelta(days=20)
    with open_warehouse(world.settings) as raw_wh:
        raw_wh.insert_events(early, "late-early")
        from dagster import materialize

        from orchestration.resources import WarehouseResource
        assert materialize([overview_daily], resources={"warehouse": WarehouseResource()}).success
        raw_wh.insert_events(late, "late-late")
        wh = ScopedWarehouse(raw_wh, org)
        rolled = wh.query("SELECT sum(leads) AS n FROM {{ ref('overview_daily') }}")[0]["n"]
        got = OverviewData(wh).windows({"p": (first, today)}, "", {})["p"]
        raw = OverviewData(wh, rollups=False).windows({"p": (first, today)}, "", {})["p"]
        for key in ("magnet_id", "day"):  # per group too: cached roll-up sets + the tail
            _same(OverviewData(wh).grouped(key, first, today, "", {}, 400),
                  OverviewData(wh, rollups=False).grouped(key, first, today, "", {}, 400))
        # a new run: the first answer comes from the previous run's cached sets plus every
        # event received after ITS watermark while the new sets are computed aside; both exact
        assert materialize([overview_daily], resources={"warehouse": WarehouseResource()}).success
        after_run = OverviewData(wh).windows({"p": (first, today)}, "", {})["p"]
        CACHE.wait()
        refreshed = OverviewData(wh).windows({"p": (first, today)}, "", {})["p"]
    want = truth_of(table, first, today)
    assert rolled < want["leads"]  # the roll-up alone misses the late half
    for name, value in want.items():
        for answer in (got, raw, after_run, refreshed):
            assert answer[name] == pytest.approx(value, rel=1e-9, abs=0.005), name


def truth_of(table: pa.Table, first: dt.date, last: dt.date) -> dict[str, float]:
    start = dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC)
    end = dt.datetime(last.year, last.month, last.day, tzinfo=dt.UTC) + dt.timedelta(days=1)
    return truth(SimpleNamespace(events=table), start, end)  # type: ignore[arg-type]


def test_a_tail_visitor_already_rolled_up_is_not_counted_twice() -> None:
    import numpy as np

    from app_api.overview_data import _not_in

    rolled = np.array([2, 7, 2**64 - 1], dtype=np.uint64)  # sorted, as the SQL returns them
    assert _not_in([7, 2**64 - 1, 3, 8], rolled) == 2
    assert _not_in([1], np.empty(0, dtype=np.uint64)) == 1 and _not_in([], rolled) == 0
