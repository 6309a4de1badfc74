"""Typed inputs and results of the statistics engine."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Method = Literal["fixed", "sequential", "bayesian", "mixture"]
Adjust = Literal["holm", "bh"]
MetricType = Literal["binomial", "continuous", "ratio"]


@dataclass(frozen=True)
class VariantData:
    """Aggregated data of one arm; the first arm passed to ``analyze`` is the baseline.

    A binomial metric gives ``conversions`` (users who converted). A continuous metric
    (e.g. revenue per visitor) gives ``sum`` and ``sum_squares`` of the per-user values;
    giving ``sum`` makes the metric continuous.

    CUPED: ``pre_sum`` and ``pre_sum_squares`` of a pre-period covariate per user, and
    ``sum_product`` = sum over users of metric x covariate. All three or none.

    ``expected_weight`` is this arm's share in the planned traffic split, used by the
    sample-ratio-mismatch check; an equal split when every arm leaves it unset.

    Ratio metric (e.g. leads per session, revenue per visitor when the unit is a user):
    ``sum``/``sum_squares`` of the numerator per unit plus ``denominator_sum``,
    ``denominator_sum_squares`` and ``denominator_product`` (sum over units of
    numerator x denominator). The arm's value is ``sum / denominator_sum``, its variance
    by the delta method; no CUPED.
    """

    name: str
    users: int
    conversions: float | None = None
    sum: float | None = None
    sum_squares: float | None = None
    pre_sum: float | None = None
    pre_sum_squares: float | None = None
    sum_product: float | None = None
    expected_weight: float | None = None
    denominator_sum: float | None = None
    denominator_sum_squares: float | None = None
    denominator_product: float | None = None

    @property
    def is_ratio(self) -> bool:
        """True when the arm carries a ratio metric (``denominator_sum`` given)."""
        return self.denominator_sum is not None

    @property
    def is_continuous(self) -> bool:
        """True when the arm carries a continuous metric (``sum`` given)."""
        return self.sum is not None

    @property
    def has_covariate(self) -> bool:
        """True when the arm carries a CUPED pre-period covariate."""
        return self.pre_sum is not None


@dataclass(frozen=True)
class ArmStats:
    """Per-user moments of one arm, after CUPED adjustment when there is a covariate."""

    name: str
    n: float
    mean: float  # CUPED-adjusted mean (equals unadjusted_mean without a covariate)
    unadjusted_mean: float
    variance: float  # per-user variance of the (adjusted) metric
    unadjusted_variance: float
    conversions: float | None = None  # binomial arms only


def finite_or_none(x: float | None) -> float | None:
    """``x`` as a plain float, or None when it is missing, NaN or infinite."""
    if x is None:
        return None
    value = float(x)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Comparison:
    """One non-baseline variant against the baseline. Lifts are relative (0.1 = +10 %).

    ``ci_low``/``ci_high`` bound the relative lift: a confidence interval (fixed), a
    confidence sequence (sequential) or a credible interval (bayesian), at the
    multiplicity-adjusted level when there are several comparisons (see ``ci_alpha``).
    ``p_value`` is unadjusted; ``p_value_adjusted`` applies ``adjust`` across
    comparisons and decides ``significant``. Bayesian results have no p-values and are
    ``significant`` when the credible interval excludes 0. Floats are finite or None.
    """

    variant: str
    baseline: str
    baseline_mean: float | None = None
    variant_mean: float | None = None
    lift: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_alpha: float | None = None
    p_value: float | None = None
    p_value_adjusted: float | None = None
    significant: bool = False
    chance_to_beat: float | None = None
    expected_loss: float | None = None
    variance_reduction: float | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        # Last line of defence for "no NaN in the UI": non-finite floats become None.
        for name in (
            "baseline_mean",
            "variant_mean",
            "lift",
            "ci_low",
            "ci_high",
            "ci_alpha",
            "p_value",
            "p_value_adjusted",
            "chance_to_beat",
            "expected_loss",
            "variance_reduction",
        ):
            object.__setattr__(self, name, finite_or_none(getattr(self, name)))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict."""
        return asdict(self)


@dataclass(frozen=True)
class AnalysisResult:
    """Outcome of ``analyze``: one ``Comparison`` per non-baseline variant.

    ``error`` is set (never raised) when the input is degenerate; comparisons that could
    not be computed carry their own ``error`` and None in place of numbers.
    """

    method: Method
    alpha: float
    metric_type: MetricType | None
    adjust: Adjust | None
    comparisons: list[Comparison] = field(default_factory=list)
    srm_p_value: float | None = None
    srm_flag: bool = False
    sequential_tuning_parameter: float | None = None
    mde: float | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "srm_p_value", finite_or_none(self.srm_p_value))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict."""
        return asdict(self)
