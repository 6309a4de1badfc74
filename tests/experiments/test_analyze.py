"""The public surface of experiments.stats: fields, JSON, and decision/interval agreement."""

from __future__ import annotations

import json

import numpy as np
import pytest

from experiments.assignment import js_source
from experiments.stats import AnalysisResult, VariantData, analyze

BRIEF = [VariantData(name="A", users=10000, conversions=512),
         VariantData(name="B", users=10050, conversions=570)]


@pytest.mark.parametrize("method", ["fixed", "sequential", "bayesian"])
def test_brief_example_shape_and_json(method: str) -> None:
    result = analyze(BRIEF, method=method, alpha=0.05)  # type: ignore[arg-type]
    assert isinstance(result, AnalysisResult)
    assert result.error is None and result.metric_type == "binomial"
    (c,) = result.comparisons
    assert (c.variant, c.baseline) == ("B", "A")
    assert c.lift == pytest.approx(570 / 10050 / 0.0512 - 1)
    assert c.ci_low is not None and c.ci_high is not None and c.ci_low < c.lift < c.ci_high
    assert result.srm_p_value is not None and not result.srm_flag
    if method == "bayesian":
        assert c.p_value is None and c.chance_to_beat is not None
        assert c.expected_loss is not None and result.adjust is None
    else:
        assert c.p_value is not None and c.chance_to_beat is None
    assert (result.sequential_tuning_parameter is not None) == (method == "sequential")
    assert json.loads(json.dumps(result.to_dict(), allow_nan=False))["comparisons"][0]["variant"] == "B"


def test_sequential_interval_is_wider_than_fixed() -> None:
    fixed = analyze(BRIEF, method="fixed").comparisons[0]
    seq = analyze(BRIEF, method="sequential").comparisons[0]
    assert seq.ci_low < fixed.ci_low and seq.ci_high > fixed.ci_high  # type: ignore[operator]
    assert seq.p_value >= fixed.p_value  # type: ignore[operator]


@pytest.mark.parametrize("method", ["fixed", "sequential", "bayesian"])
def test_significance_agrees_with_the_interval(method: str) -> None:
    rng = np.random.default_rng(12)
    for _ in range(60):
        n_a, n_b = rng.integers(500, 50_000, size=2)
        rate = rng.uniform(0.01, 0.3)
        c_a = rng.binomial(n_a, rate)
        c_b = rng.binomial(n_b, rate * rng.uniform(0.8, 1.25))
        c = analyze([VariantData("A", int(n_a), conversions=int(c_a)),
                     VariantData("B", int(n_b), conversions=int(c_b))],
                    method=method).comparisons[0]  # type: ignore[arg-type]
        assert c.error is None
        excludes_zero = c.ci_low > 0 or c.ci_high < 0  # type: ignore[operator]
        if method == "bayesian":
            # interval and chance to beat come from separate integrals: allow a hair
            assert c.chance_to_beat is not None
            if abs(c.chance_to_beat - 0.975) > 1e-6 and abs(c.chance_to_beat - 0.025) > 1e-6:
                assert excludes_zero == c.significant
        else:
            assert excludes_zero == c.significant


def test_continuous_metric() -> None:
    result = analyze([VariantData("A", 5_000, sum=12_000.0, sum_squares=600_000.0),
                      VariantData("B", 5_100, sum=13_500.0, sum_squares=650_000.0)])
    c = result.comparisons[0]
    assert result.metric_type == "continuous" and c.error is None
    assert c.baseline_mean == pytest.approx(2.4)
    assert c.lift == pytest.approx((13_500 / 5_100) / 2.4 - 1)


def test_javascript_source_is_es5() -> None:
    src = js_source()
    assert "function lsAssign(seed, unitId, weights, coverage)" in src
    for es6 in ("=>", "let ", "const ", "`", "Math.imul(", "class "):
        assert es6 not in src
