"""Per-arm experiment data read from the lake, on a hand-built event log."""

from __future__ import annotations

import datetime as dt

from experiments.readout import read_metrics
from kernel.events import make_row, rows_to_arrow
from kernel.settings import Settings
from kernel.warehouse.lake_backend import LakeWarehouse
from pipelines.analytics.experiment_looks import DAILY_SQL

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


def test_promotion_and_experiment_results_count_the_same_conversions(settings: Settings) -> None:
    """One rule, two implementations: the promotion readout (per arm, SQL joins) and the
    experiment_results asset (DAILY_SQL, one scan with arrays) agree case by case."""
    rows = []

    def ev(visitor: str, event: str, t: int, *, exp: str = "", variant: str = "",
           magnet: str = "") -> None:
        rows.append(make_row(org_id="o", event=event, ts=T + t, visitor_id=visitor,
                             experiment_id=exp, variant=variant, magnet_id=magnet))

    # x: on magnet m1, metric lead; y: on magnet m2, metric lead; z: no magnet, metric purchase
    ev("v1", "exposure", 0, exp="x", variant="A"); ev("v1", "lead", 10, magnet="m1")  # noqa: E702  its magnet
    ev("v2", "exposure", 0, exp="x", variant="B"); ev("v2", "lead", 10, magnet="m2")  # noqa: E702  another magnet
    ev("v3", "exposure", 0, exp="x", variant="A"); ev("v3", "lead", 10, exp="y", variant="A", magnet="m1")  # noqa: E702
    ev("v4", "exposure", 0, exp="x", variant="B"); ev("v4", "lead", 10)  # noqa: E702  no magnet: counts
    ev("v5", "exposure", 0, exp="x", variant="A"); ev("v5", "lead", 10, exp="x", variant="A", magnet="m1")  # noqa: E702
    ev("v6", "exposure", 0, exp="x", variant="B"); ev("v6", "exposure", 0, exp="y", variant="A")  # noqa: E702
    ev("v6", "lead", 10, magnet="m2")  # y's magnet: counts for y, not for x
    ev("v7", "exposure", 0, exp="z", variant="A"); ev("v7", "purchase", 10)  # noqa: E702
    ev("v8", "exposure", 0, exp="z", variant="B"); ev("v8", "purchase", 10, magnet="m1")  # noqa: E702
    ev("v9", "lead", -10, magnet="m1"); ev("v9", "exposure", 0, exp="x", variant="B")  # noqa: E702  before
    experiments = {"x": ("m1", "lead"), "y": ("m2", "lead"), "z": ("", "purchase")}
    expected = {"x": {"A": (3, 2), "B": (4, 1)}, "y": {"A": (1, 1)}, "z": {"A": (1, 1), "B": (1, 0)}}

    wh = LakeWarehouse(settings.lake_dir)
    wh.insert_events(rows_to_arrow(rows), "t")
    until = dt.datetime.fromtimestamp((T + 1_000) / 1000, dt.UTC)
    for key, (magnet, metric) in experiments.items():
        arms = sorted(expected[key])
        primary, _ = read_metrics(wh, "o", key, arms, metric, until=until, magnet_id=magnet)
        assert {v.name: (v.users, v.conversions) for v in primary.variants} == expected[key], key

    daily = wh.query_polars(DAILY_SQL, {
        "orgs": ["o"] * 3, "keys": list(experiments), "magnets": [m for m, _ in experiments.values()],
        "metrics": [k for _, k in experiments.values()], "end": dt.date(2030, 1, 1)})
    got: dict[str, dict[str, tuple[int, int]]] = {}
    for r in daily.iter_rows(named=True):
        users, conv = got.setdefault(r["experiment_key"], {}).get(r["variant"], (0, 0))
        got[r["experiment_key"]][r["variant"]] = (
            users + r["users"], conv + (r["users"] if r["conversion_day"] is not None else 0))
    assert got == expected
    wh.close()
