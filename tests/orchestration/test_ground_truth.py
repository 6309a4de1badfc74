"""Every asset against what the simulator actually did (its recorded ground truth)."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.orchestration.simulated import SPEND, Simulated


def test_the_whole_graph_materializes_and_every_check_passes(simulated: Simulated) -> None:
    assert simulated.result.success
    checks = simulated.result.get_asset_check_evaluations()
    failed = {c.check_name: {k: v.value for k, v in c.metadata.items()}
              for c in checks if not c.passed}
    assert len(checks) >= 17 and not failed, failed


def test_first_touch_matches_the_channel_mix(simulated: Simulated) -> None:
    truth, ga4 = simulated.truth, simulated.truth["ga4_channel"]
    with simulated.warehouse() as wh:
        firsts = dict((r["channel"], r["n"]) for r in wh.query(
            "SELECT channel, count() AS n FROM (SELECT visitor_id, "
            "argMin(channel, session_start) AS channel FROM {{ ref('sessions') }} "
            "GROUP BY visitor_id) GROUP BY channel"))
        credit = {r["channel"]: r["conversions"] for r in wh.query(
            "SELECT channel, conversions FROM {{ ref('attribution') }} "
            "WHERE model = 'first_touch'")}
    expected_visitors = {ga4[k]: v for k, v in truth["first_touch_counts"].items()}
    assert firsts == expected_visitors  # every visitor's first session, by GA4 channel
    total = sum(firsts.values())
    for sim_channel, share in truth["channel_mix"].items():
        assert firsts[ga4[sim_channel]] / total == pytest.approx(share, abs=0.015)
    expected_leads = {ga4[k]: float(v) for k, v in truth["lead_first_touch_counts"].items()}
    assert {k: v for k, v in credit.items() if v} == expected_leads


def test_every_model_conserves_the_leads(simulated: Simulated) -> None:
    leads = simulated.truth["event_counts"]["lead"]
    with simulated.warehouse() as wh:
        per_model = {r["model"]: r["c"] for r in wh.query(
            "SELECT model, sum(conversions) AS c FROM {{ ref('attribution') }} GROUP BY model")}
        last = Counter({r["channel"]: r["n"] for r in wh.query(
            "SELECT path[-1] AS channel, count() AS n FROM {{ ref('conversion_paths') }} "
            "WHERE converted = 1 GROUP BY channel")})
    assert len(per_model) == 7
    assert all(c == pytest.approx(leads) for c in per_model.values())
    ga4 = simulated.truth["ga4_channel"]
    truth_last = {ga4[k]: v for k, v in simulated.truth["lead_last_touch_counts"].items()}
    # a return visit within 30 minutes of the previous one joins it (GA4 would do the same)
    for channel, n in truth_last.items():
        assert last[channel] == pytest.approx(n, rel=0.03, abs=3)


def test_funnels_match_the_simulated_journeys(simulated: Simulated) -> None:
    with simulated.warehouse() as wh:
        rows = wh.query("SELECT magnet_id, variant, step, visitors FROM {{ ref('funnels') }}")
    got = {(r["magnet_id"], r["variant"], r["step"]): r["visitors"] for r in rows}
    expected = {(m, v, step): n for m, arms in simulated.truth["funnels"].items()
                for v, steps in arms.items() for step, n in steps.items()}
    assert got == expected


def test_experiment_results_recover_the_true_lift(simulated: Simulated) -> None:
    with simulated.warehouse() as wh:
        rows = wh.query(
            "SELECT experiment_key, variant, users, conversions, lift, ci_low, ci_high, "
            "significant, error, look_date FROM {{ ref('experiment_results') }} "
            "WHERE method = 'sequential' ORDER BY look_date")
    assert rows
    last_day = rows[-1]["look_date"]
    last = {(r["experiment_key"], r["variant"]): r for r in rows if r["look_date"] == last_day}
    for key, exp in simulated.truth["experiments"].items():
        for variant, arm in exp["arms"].items():
            row = last[(key, variant)]
            assert (row["users"], row["conversions"]) == (arm["exposed"], arm["converted"])
            if variant == exp["variants"][0]:
                continue
            true_lift = exp["true_lift"][variant]
            assert row["error"] == ""
            assert row["ci_low"] <= true_lift <= row["ci_high"], (key, row)
    looks = {r["look_date"] for r in rows}
    assert len(looks) >= 30  # one look a day since the experiments started


def test_sessions_cohorts_and_daily_metrics_agree_with_the_truth(simulated: Simulated) -> None:
    truth = simulated.truth
    with simulated.warehouse() as wh:
        touches = {r["channel"]: r["n"] for r in wh.query(
            "SELECT channel, count() AS n FROM {{ ref('sessions') }} "
            "WHERE pageviews > 0 GROUP BY channel")}
        cohort_leads = wh.scalar("SELECT sum(leads) FROM {{ ref('cohorts') }} "
                                 "WHERE weeks_since = 0")
        metric_leads = wh.scalar("SELECT sum(leads) FROM {{ ref('daily_magnet_metrics') }}")
        spend = wh.query("SELECT model, sum(spend) AS s, sumIf(spend, channel = 'paid_search') "
                         "AS paid FROM {{ ref('roi') }} GROUP BY model")
    for sim_channel, n in truth["touch_counts"].items():
        assert touches[truth["ga4_channel"][sim_channel]] == pytest.approx(n, rel=0.03)
    assert cohort_leads == metric_leads == truth["event_counts"]["lead"]
    total = sum(a for _, _, a in SPEND)
    assert all(r["s"] == pytest.approx(total) and r["paid"] == pytest.approx(1200.0)
               for r in spend)
