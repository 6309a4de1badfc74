"""Lead values, ROI and experiment looks: the Python half of the analytics, by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from experiments.stats import VariantData, analyze
from pipelines.analytics.experiment_looks import frame, look_dates, looks
from pipelines.analytics.lead_values import lead_values
from pipelines.analytics.roi import channel_key, roi
from pipelines.attribution import MODELS


def test_configured_value_wins_and_learned_value_is_revenue_per_lead() -> None:
    configured = pl.DataFrame({"org_id": ["o", "o", "o"], "magnet_id": ["m1", "m2", "m3"],
                               "configured_value": [40.0, None, None]})
    learned = pl.DataFrame({"org_id": ["o", "o", "o"], "magnet_id": ["m1", "m2", "gone"],
                            "leads": [10, 4, 2], "revenue_after_lead": [100.0, 50.0, 8.0]})
    out = lead_values(configured, learned)
    assert out.select("magnet_id", "leads", "learned_value", "lead_value", "source").rows() == [
        ("gone", 2, 4.0, 4.0, "learned"),  # deleted from metadata: still valued
        ("m1", 10, 10.0, 40.0, "configured"),
        ("m2", 4, 12.5, 12.5, "learned"),
        ("m3", 0, 0.0, 0.0, "learned"),  # no leads yet
    ]


def test_channel_names_from_an_upload() -> None:
    assert channel_key(" Paid Search ") == "paid_search"
    assert channel_key("Organic-Social") == "organic_social"
    assert channel_key("Mobile Push Notifications") == "mobile_push"
    assert channel_key("CPC") == "paid_search"
    assert channel_key("display") == "display"


def _credit() -> pl.DataFrame:
    return pl.DataFrame({
        "org_id": ["o"] * 4, "model": ["first_touch", "first_touch", "linear", "linear"],
        "channel": ["paid_search", "email", "paid_search", "email"],
        "conversions": [2.0, 3.0, 1.0, 4.0], "value": [80.0, 30.0, 40.0, 70.0]})


def test_cost_per_lead_roas_roi_and_payback() -> None:
    spend = pl.DataFrame({"org_id": ["o", "o", "o"], "channel": ["Paid Search", "paid_search",
                                                                 "Display"],
                          "campaign": ["a", "b", ""], "amount": [60.0, 40.0, 25.0],
                          "currency": ["USD"] * 3})
    payback = pl.DataFrame({"org_id": ["o"] * 3, "channel": ["paid_search"] * 3,
                            "weeks_since": [0, 1, 2], "value_per_lead": [20.0, 60.0, 120.0]})
    out = roi(_credit(), spend, payback)
    rows = {(r["model"], r["channel"]): r for r in out.iter_rows(named=True)}
    paid = rows[("first_touch", "paid_search")]
    assert (paid["spend"], paid["conversions"], paid["cost_per_lead"]) == (100.0, 2.0, 50.0)
    assert paid["roas"] == pytest.approx(0.8) and paid["roi"] == pytest.approx(-0.2)
    assert paid["payback_weeks"] == 1  # 60 per lead by week 1 >= 50
    assert rows[("linear", "paid_search")]["payback_weeks"] == 2  # cost 100 per lead
    email = rows[("linear", "email")]  # organic: no spend, no ratios
    assert (email["spend"], email["cost_per_lead"], email["roas"], email["roi"]) == (
        0.0, 0.0, None, None)
    display = rows[("first_touch", "display")]  # spend without leads
    assert (display["spend"], display["conversions"], display["cost_per_lead"],
            display["roas"]) == (25.0, 0.0, None, 0.0)
    per_model = dict(out.group_by("model").agg(pl.col("spend").sum()).rows())
    assert per_model == dict.fromkeys(MODELS, 125.0)  # every model shows all the spend
    assert set(out["currency"]) == {"USD"} and set(out["error"]) == {""}


def test_spend_of_an_org_without_conversions_and_in_two_currencies() -> None:
    spend = pl.DataFrame({"org_id": ["new", "new"], "channel": ["paid_social"] * 2,
                          "campaign": ["", ""], "amount": [10.0, 5.0],
                          "currency": ["EUR", "USD"]})
    empty = pl.DataFrame(schema={"org_id": pl.String, "channel": pl.String,
                                 "weeks_since": pl.Int64, "value_per_lead": pl.Float64})
    out = roi(_credit().clear(), spend, empty)
    assert sorted(out["model"]) == sorted(MODELS)  # every model shows the spend
    row = out.row(0, named=True)
    assert row["spend"] == 15.0 and row["roas"] is None and row["cost_per_lead"] is None
    assert "several currencies (EUR, USD)" in row["error"]


def test_looks_are_cumulative_and_match_analyze() -> None:
    d = dt.date(2026, 3, 2)
    daily = pl.DataFrame({
        "variant": ["A", "A", "B", "B", "A"],
        "exposure_day": [d, d, d, d, d + dt.timedelta(days=1)],
        "conversion_day": [None, d, None, d + dt.timedelta(days=1), None],
        "users": [900, 100, 880, 120, 1000]}, schema_overrides={"conversion_day": pl.Date})
    exp = {"org_id": "o", "key": "k", "variants": ["A", "B"], "weights": [0.5, 0.5],
           "alpha": 0.05}
    dates = look_dates(daily, None, d + dt.timedelta(days=1))
    assert dates == [d, d + dt.timedelta(days=1)]
    out = frame(looks(exp, daily, dates, methods=("sequential", "fixed")))
    assert out.height == 2 * 2 * 2
    day2 = out.filter((pl.col("look_date") == dates[1]) & (pl.col("method") == "fixed"))
    assert day2.select("variant", "users", "conversions").rows() == [
        ("A", 2000, 100), ("B", 1000, 120)]
    expected = analyze([VariantData("A", 2000, conversions=100, expected_weight=0.5),
                        VariantData("B", 1000, conversions=120, expected_weight=0.5)],
                       method="fixed").comparisons[0]
    b = day2.row(1, named=True)
    assert (b["lift"], b["ci_low"], b["ci_high"], b["p_value"]) == (
        expected.lift, expected.ci_low, expected.ci_high, expected.p_value)
    assert b["srm_p_value"] < 0.001  # 2000 vs 1000 on a 50/50 split
    a = day2.row(0, named=True)
    assert a["lift"] is None and a["baseline"] == "A" and not a["significant"]
    day1 = out.filter((pl.col("look_date") == d) & (pl.col("variant") == "B")).row(0, named=True)
    assert (day1["users"], day1["conversions"]) == (1000, 0)  # B's conversions came on day 2


def test_degenerate_look_has_an_error_not_a_crash() -> None:
    exp = {"org_id": "o", "key": "k", "variants": ["A", "B"], "weights": [0.5, 0.5],
           "alpha": 0.05}
    empty = pl.DataFrame(schema={"variant": pl.String, "exposure_day": pl.Date,
                                 "conversion_day": pl.Date, "users": pl.Int64})
    rows = looks(exp, empty, [dt.date(2026, 3, 2)])
    assert len(rows) == 2 and all(r["error"] for r in rows)
    assert look_dates(empty, None, dt.date(2026, 3, 2)) == []
