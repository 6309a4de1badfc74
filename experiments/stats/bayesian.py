"""Bayesian summaries of the relative lift: chance to beat, expected loss, credible interval.

* Binomial metric without a covariate: exact Beta-binomial. Each arm's conversion rate
  has a uniform Beta(1, 1) prior, hence a Beta(1 + conversions, 1 + users - conversions)
  posterior; the lift is ``p_B / p_A - 1``. Chance to beat, expected loss and the
  equal-tailed credible interval are one-dimensional integrals over ``p_A`` evaluated by
  adaptive quadrature (no Monte Carlo, so results are deterministic).
* Continuous metric, or any metric with a CUPED covariate: the normal posterior on the
  relative lift that gbstats' ``EffectBayesianABTest`` uses with its default flat
  prior -- mean = the delta-method lift, variance = its delta-method variance.

``expected_loss`` is the relative lift you expect to give up by shipping the variant:
``E[max(0, -lift)]`` (gbstats' treatment "risk").
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import integrate, optimize, special, stats

Num = float | NDArray[np.float64]

_TAIL = 1e-13  # posterior mass ignored at each end of the integration range


@dataclass(frozen=True)
class Posterior:
    """Posterior summary of the relative lift."""

    chance_to_beat: float
    expected_loss: float
    ci_low: float
    ci_high: float


def normal_chance_to_beat(mean: Num, sd: Num) -> Num:
    """P(lift > 0) for a normal posterior."""
    return stats.norm.sf(0.0, mean, sd)


def normal_expected_loss(mean: Num, sd: Num) -> Num:
    """E[max(0, -lift)] for a normal posterior: sd * phi(mean/sd) - mean * Phi(-mean/sd)."""
    z = mean / sd
    return sd * stats.norm.pdf(z) - mean * stats.norm.cdf(-z)


def normal_posterior(mean: float, variance: float, alpha: float) -> Posterior:
    """Summary of a normal posterior N(mean, variance) on the relative lift."""
    sd = float(np.sqrt(variance))
    low, high = stats.norm.ppf([alpha / 2, 1 - alpha / 2], mean, sd)
    return Posterior(
        chance_to_beat=float(normal_chance_to_beat(mean, sd)),
        expected_loss=float(normal_expected_loss(mean, sd)),
        ci_low=float(low),
        ci_high=float(high),
    )


def _beta_sd(a: float, b: float) -> float:
    return float(np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))))


class _BetaPair:
    """Posteriors Beta(a_a, b_a) and Beta(a_b, b_b); integrals over p_A."""

    def __init__(self, conv_a: float, n_a: float, conv_b: float, n_b: float) -> None:
        self.a_a, self.b_a = 1.0 + conv_a, 1.0 + n_a - conv_a
        self.a_b, self.b_b = 1.0 + conv_b, 1.0 + n_b - conv_b
        self.lo = float(special.betaincinv(self.a_a, self.b_a, _TAIL))
        self.hi = float(special.betaincinv(self.a_a, self.b_a, 1 - _TAIL))
        self._mass: float | None = None
        self.mean_a = self.a_a / (self.a_a + self.b_a)
        self.mean_b = self.a_b / (self.a_b + self.b_b)
        self.sd_a = _beta_sd(self.a_a, self.b_a)
        self.sd_b = _beta_sd(self.a_b, self.b_b)

    def _density_a(self, x: float) -> float:
        """Posterior density of p_A relative to its value at the mean (unnormalised).

        Logs are taken of x / mean and (1 - x) / (1 - mean), which stay accurate for
        hundreds of millions of users where log Beta(a, b) itself loses digits.
        """
        m = self.mean_a
        log_ratio = special.xlogy(self.a_a - 1, x / m) + special.xlogy(
            self.b_a - 1, (1 - x) / (1 - m)
        )
        return float(np.exp(log_ratio))

    def _quad(self, f: Callable[[float], float], step_at: float) -> float:
        centre, scale = self.mean_a, self.sd_a
        z_lo, z_hi = (self.lo - centre) / scale, (self.hi - centre) / scale
        z_step, z_width = (step_at - centre) / scale, 5 * self.sd_b / scale
        candidates = [0.0, z_step - z_width, z_step, z_step + z_width]
        points = sorted({z for z in candidates if z_lo < z < z_hi})
        with warnings.catch_warnings():
            # quadpack's roundoff warnings fire on near-constant integrands of huge
            # samples; accuracy is checked against exact values in the tests instead.
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            value, _ = integrate.quad(
                lambda z: self._density_a(centre + scale * z) * f(centre + scale * z),
                z_lo,
                z_hi,
                points=points or None,
                limit=200,
                epsabs=1e-13,
                epsrel=1e-11,
            )
        return float(value)

    def integrate(self, f: Callable[[float], float], step_at: float) -> float:
        """E[f(p_A)] under A's posterior, where f may step sharply near ``step_at``.

        Integrates over z = (x - mean_A) / sd_A so the integrand is O(1) however
        concentrated the posterior is, with breakpoints at A's centre and around the
        step (whose width is B's standard deviation), and divides by the integral of the
        same unnormalised density so that normalising constants cancel.
        """
        if self._mass is None:
            self._mass = self._quad(lambda x: 1.0, self.mean_a)
        return self._quad(f, step_at) / self._mass

    def chance_to_beat(self) -> float:
        return self.integrate(lambda x: special.betaincc(self.a_b, self.b_b, x), self.mean_b)

    def expected_loss(self) -> float:
        # E[(x - p_B)+] = x F_B(x) - mean_B F_{B+}(x), with B+ = Beta(a_b + 1, b_b)
        def shortfall_over_x(x: float) -> float:
            below = special.betainc(self.a_b, self.b_b, x)
            below_plus = special.betainc(self.a_b + 1, self.b_b, x)
            return float(max(x * below - self.mean_b * below_plus, 0.0) / x)

        return self.integrate(shortfall_over_x, self.mean_b)

    def ratio_cdf(self, r: float) -> float:
        """P(p_B / p_A <= r)."""
        return self.integrate(
            lambda x: special.betainc(self.a_b, self.b_b, min(r * x, 1.0)), self.mean_b / r
        )

    def ratio_quantile(self, q: float) -> float:
        lo_b = float(special.betaincinv(self.a_b, self.b_b, _TAIL))
        hi_b = float(special.betaincinv(self.a_b, self.b_b, 1 - _TAIL))
        r_lo, r_hi = max(lo_b, 1e-300) / self.hi, hi_b / self.lo
        return float(
            optimize.brentq(
                lambda r: self.ratio_cdf(r) - q, r_lo, r_hi, xtol=1e-13, rtol=1e-12
            )
        )


def beta_binomial_posterior(
    conv_a: float, n_a: float, conv_b: float, n_b: float, alpha: float
) -> Posterior:
    """Exact Beta-binomial summary of the relative lift ``p_B / p_A - 1``.

    Args:
        conv_a, n_a: baseline conversions and users.
        conv_b, n_b: variant conversions and users.
        alpha: the credible interval is the central ``1 - alpha`` interval.
    """
    pair = _BetaPair(conv_a, n_a, conv_b, n_b)
    return Posterior(
        chance_to_beat=min(max(pair.chance_to_beat(), 0.0), 1.0),
        expected_loss=pair.expected_loss(),
        ci_low=pair.ratio_quantile(alpha / 2) - 1,
        ci_high=pair.ratio_quantile(1 - alpha / 2) - 1,
    )
