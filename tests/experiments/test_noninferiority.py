"""Guardrails with a margin: hand-built readouts at the edges, and a small simulation
(benchmarks/harm_validation.py runs the same with 2,000 experiments)."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

import numpy as np

from benchmarks.harm_validation import NEW_POLICY, harm_design, promoted
from benchmarks.promotion_validation import run_sensor, simulate
from experiments.noninferiority import GuardrailRule, noninferiority_check, rules_from_json
from experiments.promotion import MetricData, PromotionPolicy, evaluate, policy_for
from experiments.stats import VariantData, mixture

NOW = datetime(2024, 5, 10)
START = NOW - timedelta(days=5)
LEADS = MetricData("lead", [VariantData("A", 20_000, conversions=1_000),
                            VariantData("B", 20_000, conversions=1_300)])
RULE = GuardrailRule("revenue", 0.15)
POLICY = PromotionPolicy(mde=0.10, guardrail_rules=(RULE,))


def revenue(mean_b: float, users: int = 20_000, mean_a: float = 2.0) -> MetricData:
    """Revenue per visitor with a per-visitor variance of 60 in both arms."""
    def arm(name: str, mean: float) -> VariantData:
        s = mean * users
        return VariantData(name, users, sum=s, sum_squares=60 * (users - 1) + s * s / users)
    return MetricData("revenue", [arm("A", mean_a), arm("B", mean_b)])


def test_no_harm_with_enough_data_is_promoted() -> None:
    d = evaluate(POLICY, START, NOW, LEADS, [revenue(2.0, users=60_000)])
    assert d.promote and d.winner == "B"
    guard = d.to_dict()["guardrails"][0]
    assert guard["test"] == "non-inferiority" and guard["margin"] == 0.15
    assert guard["numbers"]["harm_bound"] > -0.15 and guard["numbers"]["p_value"] < 0.05
    assert d.summary.startswith("Promote B: it beats A on 'lead' by +30.0 %")


def test_exactly_at_the_margin_is_not_promoted() -> None:
    for users in (2_000, 20_000, 2_000_000):  # however much data
        d = evaluate(POLICY, START, NOW, LEADS, [revenue(2.0 * 0.85, users=users)])
        assert not d.promote
        check = next(c for c in d.checks if c.name == "guardrail:revenue")
        assert not check.passed and "-15.0 %" in check.detail
        assert d.to_dict()["guardrails"][0]["numbers"]["p_value"] == 1.0
    assert "stays within its allowed margin" in d.summary


def test_harm_beyond_the_margin_says_so() -> None:
    d = evaluate(POLICY, START, NOW, LEADS, [revenue(1.5)])
    check = next(c for c in d.checks if c.name == "guardrail:revenue")
    assert "harmed beyond its margin" in check.detail
    assert d.summary == ("Keep running: the candidate harms 'revenue' beyond the allowed "
                         "margin.")


def test_too_little_data_waits_where_the_old_rule_promoted() -> None:
    small = revenue(1.84, users=20_000)  # -8 %: not significant, not shown within 15 %
    assert evaluate(PromotionPolicy(), START, NOW, LEADS, [small]).promote
    assert not evaluate(POLICY, START, NOW, LEADS, [small]).promote


def test_lower_is_better_guardrail() -> None:
    rule = GuardrailRule("unsubscribe", 0.2, higher_is_better=False)
    def unsub(b: int) -> MetricData:
        return MetricData("unsubscribe", [VariantData("A", 50_000, conversions=1_000),
                                          VariantData("B", 50_000, conversions=b)])
    ok, _ = noninferiority_check(rule, 0.05, unsub(950), "A", "B")
    rising, numbers = noninferiority_check(rule, 0.05, unsub(1_250), "A", "B")
    assert ok.passed and not rising.passed
    assert numbers is not None and numbers["harm_bound"] > 0.2  # the highest plausible rise


def test_srm_blocks_even_when_guardrails_hold() -> None:
    skewed = MetricData("lead", [VariantData("A", 21_000, conversions=1_050),
                                 VariantData("B", 19_000, conversions=1_235)])
    d = evaluate(POLICY, START, NOW, skewed, [revenue(2.0, users=60_000)])
    assert not d.promote
    assert [c.name for c in d.checks if not c.passed] == ["srm"]
    assert "sample ratio mismatch" in d.summary


def test_one_arm_empty_fails_without_raising() -> None:
    empty = MetricData("revenue", [VariantData("A", 20_000, sum=40_000.0, sum_squares=1.2e6),
                                   VariantData("B", 0, sum=0.0, sum_squares=0.0)])
    d = evaluate(POLICY, START, NOW, LEADS, [empty])
    check = next(c for c in d.checks if c.name == "guardrail:revenue")
    assert not d.promote and not check.passed and "no users" in check.detail
    missing = MetricData("revenue", [VariantData("A", 20_000, sum=1.0, sum_squares=1.0)])
    assert not evaluate(POLICY, START, NOW, LEADS, [missing]).promote


def test_a_rule_without_data_blocks() -> None:
    d = evaluate(POLICY, START, NOW, LEADS, [])
    assert not d.promote and d.checks[-1].name == "guardrail:revenue"
    assert "no data" in d.checks[-1].detail


def test_invalid_rules_fail_the_policy() -> None:
    for margin in (-0.1, 0.0, 1.0, math.inf, math.nan):
        bad = PromotionPolicy(guardrail_rules=(GuardrailRule("revenue", margin),))
        d = evaluate(bad, START, NOW, LEADS, [revenue(2.0)])
        assert not d.promote and d.checks[0].name == "policy" and "margin" in d.reasons[0]
        json.dumps(d.to_dict(), allow_nan=False)  # no NaN reaches the dashboard


def test_rules_from_the_stored_json() -> None:
    rules = rules_from_json([{"metric": "revenue", "margin": 0.1},
                             {"metric": "bounce", "margin": 0.05,
                              "direction": "lower_is_better"}, "junk"])
    assert rules[:2] == (GuardrailRule("revenue", 0.1), GuardrailRule("bounce", 0.05, False))
    assert math.isnan(rules[2].margin)  # reported, not dropped
    assert rules_from_json(None) == ()

    class Row:
        alpha, min_conversions, mde = 0.05, 50, 0.2
        guardrails = [{"metric": "revenue", "margin": 0.1}]
    policy = policy_for(Row())
    assert policy.min_conversions_per_arm == 50 and policy.mde == 0.2
    assert policy.guardrail_rules == (GuardrailRule("revenue", 0.1),)


def test_mixture_p_value_is_exactly_one_at_the_margin() -> None:
    assert mixture.noninferiority_p_value(-0.15, 1e-6, 0.15) == 1.0


def test_small_simulation_harm_is_not_promoted() -> None:
    rng = np.random.default_rng(20261202)
    at_margin = run_sensor(simulate(rng, harm_design(-0.15), 40), NEW_POLICY)
    assert promoted(at_margin) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 40)
    safe = run_sensor(simulate(rng, harm_design(0.0), 40), NEW_POLICY)
    assert promoted(safe) >= 0.85
    assert np.all(safe.winner[safe.promoted] == 1)
