"""Beta-binomial posterior: exact chance to beat, Monte Carlo check of loss and interval."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from experiments.stats import VariantData, analyze
from experiments.stats.bayesian import beta_binomial_posterior, normal_posterior

CASES = [(3, 40, 7, 45), (30, 500, 45, 520), (512, 10_000, 570, 10_050), (0, 100, 2, 100),
         (20, 200, 1, 50)]


def _exact_chance_to_beat(ca: int, na: int, cb: int, nb: int) -> float:
    """Evan Miller's closed form of P(p_B > p_A) for Beta(1 + c, 1 + n - c) posteriors."""
    a_a, b_a, a_b, b_b = 1 + ca, 1 + na - ca, 1 + cb, 1 + nb - cb
    i = np.arange(a_b)
    terms = (special.betaln(a_a + i, b_a + b_b) - np.log(b_b + i)
             - special.betaln(1 + i, b_b) - special.betaln(a_a, b_a))
    return float(np.exp(terms).sum())


@pytest.mark.parametrize(("ca", "na", "cb", "nb"), CASES)
def test_chance_to_beat_is_exact(ca: int, na: int, cb: int, nb: int) -> None:
    post = beta_binomial_posterior(ca, na, cb, nb, 0.05)
    assert post.chance_to_beat == pytest.approx(_exact_chance_to_beat(ca, na, cb, nb), abs=1e-9)


@pytest.mark.parametrize(("ca", "na", "cb", "nb"), CASES)
def test_loss_and_interval_agree_with_monte_carlo(ca: int, na: int, cb: int, nb: int) -> None:
    rng = np.random.default_rng(2024)
    draws = 1_000_000
    lift = rng.beta(1 + cb, 1 + nb - cb, draws) / rng.beta(1 + ca, 1 + na - ca, draws) - 1
    post = beta_binomial_posterior(ca, na, cb, nb, 0.05)
    loss = np.maximum(-lift, 0)
    assert post.expected_loss == pytest.approx(loss.mean(), abs=5 * loss.std() / np.sqrt(draws))
    # the interval's tails hold alpha/2 of the posterior each (binomial MC error 5 sigma)
    tol = 5 * np.sqrt(0.025 * 0.975 / draws)
    assert np.mean(lift < post.ci_low) == pytest.approx(0.025, abs=tol)
    assert np.mean(lift > post.ci_high) == pytest.approx(0.025, abs=tol)


def test_large_samples_approach_the_normal_posterior() -> None:
    ca, na, cb, nb = 50_000, 1_000_000, 50_600, 1_000_000
    beta = beta_binomial_posterior(ca, na, cb, nb, 0.05)
    pa, pb = ca / na, cb / nb
    var = pb * (1 - pb) / (pa**2 * nb) + pa * (1 - pa) * pb**2 / (pa**4 * na)
    normal = normal_posterior(pb / pa - 1, var, 0.05)
    assert beta.chance_to_beat == pytest.approx(normal.chance_to_beat, abs=2e-3)
    assert beta.ci_low == pytest.approx(normal.ci_low, abs=2e-4)
    assert beta.ci_high == pytest.approx(normal.ci_high, abs=2e-4)


def test_analyze_bayesian_fields_and_significance() -> None:
    result = analyze([VariantData("A", 10_000, conversions=500),
                      VariantData("B", 10_000, conversions=600),
                      VariantData("C", 10_000, conversions=505)], method="bayesian")
    b, c = result.comparisons
    assert b.p_value is None and b.p_value_adjusted is None
    assert b.chance_to_beat is not None and b.chance_to_beat > 0.99 and b.significant
    assert c.chance_to_beat is not None and 0.3 < c.chance_to_beat < 0.8 and not c.significant
    assert b.expected_loss is not None and c.expected_loss is not None
    assert 0 <= b.expected_loss < c.expected_loss
    assert b.ci_low is not None and b.ci_low > 0
