"""Sample ratio mismatch and multiple-comparison adjustment."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from experiments.stats import VariantData, analyze
from experiments.stats.multiple import benjamini_hochberg, holm
from experiments.stats.srm import srm_p_value


def test_srm_equals_scipy_chisquare() -> None:
    users = [10_000, 10_500, 9_800]
    assert srm_p_value(users) == pytest.approx(stats.chisquare(users).pvalue, abs=1e-12)
    weights = [0.5, 0.3, 0.2]
    expected = np.array(weights) * sum(users)
    assert srm_p_value(users, weights) == pytest.approx(
        stats.chisquare(users, expected).pvalue, abs=1e-12)


def test_srm_flag_threshold() -> None:
    ok = analyze([VariantData("A", 10_000, conversions=500),
                  VariantData("B", 10_100, conversions=500)])
    bad = analyze([VariantData("A", 10_000, conversions=500),
                   VariantData("B", 10_500, conversions=500)])
    assert ok.srm_p_value is not None and ok.srm_p_value > 0.001 and not ok.srm_flag
    assert bad.srm_p_value is not None and bad.srm_p_value < 0.001 and bad.srm_flag
    planned = analyze([VariantData("A", 20_000, conversions=500, expected_weight=2),
                       VariantData("B", 10_000, conversions=500, expected_weight=1)])
    assert planned.srm_p_value == pytest.approx(1.0) and not planned.srm_flag


def test_srm_uncomputable_is_none() -> None:
    assert srm_p_value([5]) is None
    assert srm_p_value([0, 0]) is None
    assert srm_p_value([5, 5], [1, 0]) is None


@pytest.mark.parametrize("seed", range(5))
def test_adjustments_equal_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.round(rng.uniform(0, 0.2, 7) ** 2, 3)  # rounding creates ties
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1], abs=1e-12)
    assert benjamini_hochberg(p) == pytest.approx(multipletests(p, method="fdr_bh")[1],
                                                  abs=1e-12)


ARMS = [VariantData("A", 20_000, conversions=1_000), VariantData("B", 20_000, conversions=1_180),
        VariantData("C", 20_000, conversions=1_010), VariantData("D", 20_000, conversions=1_200)]


@pytest.mark.parametrize("method", ["fixed", "sequential"])
@pytest.mark.parametrize(("adjust", "sm_name"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_multi_arm_adjusted_p_values_and_intervals(method: str, adjust: str,
                                                   sm_name: str) -> None:
    result = analyze(ARMS, method=method, adjust=adjust,  # type: ignore[arg-type]
                     sequential_tuning_parameter=40_000)
    raw = [c.p_value for c in result.comparisons]
    adjusted = multipletests(raw, method=sm_name)[1]
    assert [c.p_value_adjusted for c in result.comparisons] == pytest.approx(adjusted, abs=1e-12)
    discoveries = sum(c.significant for c in result.comparisons)
    assert discoveries >= 1
    expected_ci_alpha = 0.05 / 3 if adjust == "holm" else 0.05 * max(discoveries, 1) / 3
    for c in result.comparisons:
        assert c.ci_alpha == pytest.approx(expected_ci_alpha)
        excludes_zero = c.ci_low > 0 or c.ci_high < 0  # type: ignore[operator]
        if adjust == "bh":  # FCR intervals: every discovery's interval excludes 0
            assert excludes_zero == c.significant
        elif excludes_zero:  # Bonferroni interval excluding 0 implies a Holm rejection
            assert c.significant


def test_no_adjustment_and_single_comparison() -> None:
    none = analyze(ARMS, adjust=None)
    assert all(c.p_value == c.p_value_adjusted and c.ci_alpha == 0.05 for c in none.comparisons)
    single = analyze(ARMS[:2], adjust="holm")
    assert single.comparisons[0].p_value == single.comparisons[0].p_value_adjusted
    assert single.comparisons[0].ci_alpha == 0.05
