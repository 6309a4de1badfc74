"""Fixed-horizon analysis against statsmodels (delta method, Welch) to 1e-6."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats._delta_method import NonlinearDeltaCov
from statsmodels.stats.proportion import proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from experiments.stats import VariantData, analyze
from experiments.stats import frequentist as fq

BINOMIAL = [
    (512, 10_000, 570, 10_050),
    (30, 500, 45, 520),
    (50_000, 1_000_000, 50_600, 1_000_000),
    (2_000, 40_000, 1_850, 39_800),
    (12, 300, 3, 310),
]


def _ratio(p: np.ndarray) -> np.ndarray:
    return np.array([p[1] / p[0] - 1])


@pytest.mark.parametrize("alpha", [0.05, 0.01])
@pytest.mark.parametrize(("ca", "na", "cb", "nb"), BINOMIAL)
def test_binomial_matches_statsmodels_delta_method(ca: int, na: int, cb: int, nb: int,
                                                   alpha: float) -> None:
    pa, pb = ca / na, cb / nb
    # statsmodels' generic delta method (complex-step Jacobian) on p_B / p_A - 1
    nl = NonlinearDeltaCov(_ratio, np.array([pa, pb]),
                           np.diag([pa * (1 - pa) / na, pb * (1 - pb) / nb]))
    (low, high), = nl.conf_int(alpha=alpha)
    _, p_expected = nl.wald_test(np.array([0.0]))

    c = analyze([VariantData("A", na, conversions=ca), VariantData("B", nb, conversions=cb)],
                method="fixed", alpha=alpha).comparisons[0]
    assert c.lift == pytest.approx(nl.predicted()[0], abs=1e-12)
    assert c.ci_low == pytest.approx(low, abs=1e-6)
    assert c.ci_high == pytest.approx(high, abs=1e-6)
    assert c.p_value == pytest.approx(float(p_expected), abs=1e-6)
    assert c.significant == (c.ci_low > 0 or c.ci_high < 0)


def _sums(x: np.ndarray) -> dict[str, float]:
    return {"sum": float(x.sum()), "sum_squares": float((x * x).sum())}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_continuous_matches_statsmodels_welch_and_delta_method(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.lognormal(1.0, 0.8, size=400)
    b = rng.lognormal(1.1, 0.9, size=450)
    tstat, p_abs, dof = CompareMeans(DescrStatsW(b), DescrStatsW(a)).ttest_ind(usevar="unequal")

    va, vb = a.var(ddof=1), b.var(ddof=1)
    # the generic machinery reproduces Welch's test of the absolute difference exactly
    diff = b.mean() - a.mean()
    assert fq.welch_dof(va, a.size, vb, b.size) == pytest.approx(dof, rel=1e-12)
    assert fq.p_value(diff, va / a.size + vb / b.size, dof) == pytest.approx(p_abs, abs=1e-12)

    nl = NonlinearDeltaCov(_ratio, np.array([a.mean(), b.mean()]),
                           np.diag([va / a.size, vb / b.size]))
    (low, high), = nl.conf_int(alpha=0.05, use_t=True, df=dof)
    t_rel = nl.predicted()[0] / nl.se_vectorized()[0]
    c = analyze([VariantData("A", a.size, **_sums(a)), VariantData("B", b.size, **_sums(b))],
                method="fixed").comparisons[0]
    assert c.lift == pytest.approx(b.mean() / a.mean() - 1, abs=1e-10)
    assert c.ci_low == pytest.approx(low, abs=1e-6)
    assert c.ci_high == pytest.approx(high, abs=1e-6)
    assert c.p_value == pytest.approx(2 * stats.t.sf(abs(t_rel), dof), abs=1e-6)


def test_relation_to_the_two_proportion_z_test() -> None:
    """Near the null, the relative-lift z-test and statsmodels' proportions_ztest agree.

    They are different statistics (ours is on p_B/p_A - 1 with unpooled variance, so
    that the p-value and the interval agree); this pins how close they are.
    """
    for ca, na, cb, nb in [(1000, 20_000, 1010, 20_000), (512, 10_000, 530, 10_050)]:
        _, p_pooled = proportions_ztest([cb, ca], [nb, na])
        c = analyze([VariantData("A", na, conversions=ca), VariantData("B", nb, conversions=cb)],
                    method="fixed").comparisons[0]
        assert c.p_value == pytest.approx(p_pooled, abs=0.01)


def test_required_sample_size_textbook_value() -> None:
    # 5 % -> 5.5 %, alpha 0.05, power 0.8: (1.96 + 0.8416)^2 * 0.099475 / 0.005^2
    assert fq.required_sample_size(0.05, 0.10) == 31_231
