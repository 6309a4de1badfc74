"""Degenerate input: an error message, never an exception, NaN or infinity."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.stats import VariantData, analyze

V = VariantData
OK = V("A", 1_000, conversions=50)

DEGENERATE: dict[str, list[VariantData]] = {
    "no arms": [],
    "one arm": [OK],
    "baseline without users": [V("A", 0, conversions=0), V("B", 100, conversions=5)],
    "variant without users": [OK, V("B", 0, conversions=0)],
    "baseline without conversions": [V("A", 1_000, conversions=0), V("B", 1_000, conversions=4)],
    "variant without conversions": [OK, V("B", 1_000, conversions=0)],
    "everyone converted": [V("A", 50, conversions=50), V("B", 60, conversions=60)],
    "negative users": [OK, V("B", -5, conversions=0)],
    "negative conversions": [OK, V("B", 100, conversions=-1)],
    "more conversions than users": [OK, V("B", 100, conversions=101)],
    "missing conversions": [OK, V("B", 100)],
    "users is None": [OK, V("B", None, conversions=1)],  # type: ignore[arg-type]
    "nan conversions": [OK, V("B", 100, conversions=math.nan)],
    "constant metric": [V("A", 100, sum=500.0, sum_squares=2_500.0),
                        V("B", 100, sum=600.0, sum_squares=3_600.0)],
    "single user": [V("A", 1, sum=5.0, sum_squares=25.0), V("B", 100, sum=600.0,
                                                               sum_squares=4_000.0)],
    "infinite sum": [V("A", 10, sum=math.inf, sum_squares=1.0), V("B", 10, sum=1.0,
                                                                  sum_squares=1.0)],
    "impossible sum of squares": [V("A", 10, sum=100.0, sum_squares=10.0),
                                  V("B", 10, sum=10.0, sum_squares=20.0)],
    "negative baseline mean": [V("A", 10, sum=-5.0, sum_squares=20.0),
                               V("B", 10, sum=5.0, sum_squares=20.0)],
    "mixed metric types": [OK, V("B", 100, sum=5.0, sum_squares=9.0)],
    "covariate in one arm": [V("A", 100, conversions=5, pre_sum=1.0, pre_sum_squares=1.0,
                               sum_product=1.0), V("B", 100, conversions=5)],
    "incomplete covariate": [V("A", 100, conversions=5, pre_sum=1.0),
                             V("B", 100, conversions=5, pre_sum=1.0)],
    "duplicate names": [OK, OK],
    "negative expected weight": [V("A", 100, conversions=5, expected_weight=-1),
                                 V("B", 100, conversions=5, expected_weight=1)],
    "expected weight on one arm": [V("A", 100, conversions=5, expected_weight=1),
                                   V("B", 100, conversions=5)],
}


def assert_clean(result_dict: dict[str, Any]) -> None:
    """Every float in the result is finite (or None) and the result is strict JSON."""
    def walk(x: Any) -> None:
        if isinstance(x, float):
            assert math.isfinite(x), result_dict
        elif isinstance(x, dict):
            for value in x.values():
                walk(value)
        elif isinstance(x, list):
            for value in x:
                walk(value)

    walk(result_dict)
    json.dumps(result_dict, allow_nan=False)


@pytest.mark.parametrize("method", ["fixed", "sequential", "bayesian"])
@pytest.mark.parametrize("name", list(DEGENERATE))
def test_degenerate_input_sets_error(name: str, method: str) -> None:
    result = analyze(DEGENERATE[name], method=method)  # type: ignore[arg-type]
    assert result.error, name
    assert all(not c.significant for c in result.comparisons)
    assert all(c.lift is None and c.p_value is None for c in result.comparisons)
    assert_clean(result.to_dict())


def test_one_bad_variant_does_not_hide_the_others() -> None:
    result = analyze([OK, V("B", 1_000, conversions=0), V("C", 1_000, conversions=70)])
    bad, good = result.comparisons
    assert bad.error and bad.lift is None
    assert good.error is None and good.lift == pytest.approx(0.4)
    assert result.error is not None and "B" in result.error


def test_invalid_parameters_raise() -> None:
    with pytest.raises(ValueError):
        analyze([OK, OK], method="frequentist")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        analyze([OK, OK], alpha=1.5)
    with pytest.raises(ValueError):
        analyze([OK, OK], adjust="bonferroni")  # type: ignore[arg-type]


counts = st.integers(min_value=-3, max_value=10**9)
reals = st.floats(allow_nan=True, allow_infinity=True, width=64)


@st.composite
def arms(draw: st.DrawFn) -> list[VariantData]:
    k = draw(st.integers(min_value=0, max_value=4))
    continuous, covariate, weighted = draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
    out = []
    for i in range(k):
        fields: dict[str, Any] = {"expected_weight": draw(reals) if weighted else None}
        if continuous:
            fields.update(sum=draw(reals), sum_squares=draw(reals))
        else:
            fields.update(conversions=draw(st.integers(-2, 10**9)))
        if covariate:
            fields.update(pre_sum=draw(reals), pre_sum_squares=draw(reals),
                          sum_product=draw(reals))
        out.append(V(f"v{i}", draw(counts), **fields))
    return out


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(variants=arms(), method=st.sampled_from(["fixed", "sequential", "bayesian"]))
def test_fuzzed_input_never_raises_or_leaks_nan(variants: list[VariantData], method: str) -> None:
    result = analyze(variants, method=method)  # type: ignore[arg-type]
    assert_clean(result.to_dict())
