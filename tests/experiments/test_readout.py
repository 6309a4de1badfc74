"""Per-arm experiment data read from the lake, on a hand-built event log."""

from __future__ import annotations

import datetime as dt

from experiments.readout import read_metrics
from kernel.events import make_row, rows_to_arrow
from kernel.settings import Settings
from kernel.warehouse.lake_backend import LakeWarehouse

T = 1_764_000_000_000


def test_units_conversions_and_revenue_after_first_exposure(settings: Settings) -> None:
    rows = []

    def ev(visitor: str, event: str, t: int, variant: str = "", value: float = 0.0,
           exp: str = "", org: str = "o") -> None:
        rows.append(make_row(org_id=org, event=event, ts=T + t, visitor_id=visitor,
                             variant=variant, value=value, experiment_id=exp))

    ev("v1", "exposure", 0, "A", exp="x"); ev("v1", "lead", 10); ev("v1", "purchase", 20, value=10)  # noqa: E702
    ev("v2", "lead", -10); ev("v2", "exposure", 0, "A", exp="x")  # noqa: E702  lead before exposure
    ev("v3", "exposure", 0, "B", exp="x"); ev("v3", "exposure", 5, "A", exp="x")  # noqa: E702  first arm counts
    ev("v3", "lead", 10); ev("v3", "purchase", 11, value=5); ev("v3", "purchase", 12, value=7)  # noqa: E702
    ev("v4", "exposure", 0, "B", exp="x"); ev("v4", "exposure", 0, "B", exp="other")  # noqa: E702
    ev("v5", "exposure", 0, "B", exp="x", org="o2"); ev("v5", "lead", 3, org="o2")  # noqa: E702  other tenant
    ev("v6", "exposure", 10_000, "B", exp="x"); ev("v6", "lead", 10_001)  # noqa: E702  after `until`
    wh = LakeWarehouse(settings.lake_dir)
    wh.insert_events(rows_to_arrow(rows), "t")
    until = dt.datetime.fromtimestamp((T + 1_000) / 1000, dt.UTC)
    primary, (revenue, starts) = read_metrics(wh, "o", "x", ["A", "B", "C"], "lead",
                                              ["revenue", "form_start"], until=until)
    assert [(v.name, v.users, v.conversions) for v in primary.variants] == [
        ("A", 2, 1), ("B", 2, 1), ("C", 0, 0)]
    assert [(v.name, v.sum, v.sum_squares) for v in revenue.variants] == [
        ("A", 10.0, 100.0), ("B", 12.0, 144.0), ("C", 0.0, 0.0)]
    assert [v.conversions for v in starts.variants] == [0, 0, 0]
    wh.close()
