"""Golden values from GrowthBook's gbstats for tests/experiments/data/gbstats_golden.json.

gbstats pins old numpy/pandas, so it lives in its own virtualenv, never the project's::

    uv venv /tmp/gbvenv --python python3.11
    uv pip install --python /tmp/gbvenv/bin/python gbstats==0.8.0
    /tmp/gbvenv/bin/python benchmarks/gbstats_golden.py

The script only imports gbstats (not Lodestone): the JSON holds each case's inputs and
gbstats' outputs, and tests/experiments/test_gbstats_golden.py compares ``analyze``
with them.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
from pathlib import Path
from typing import Any

from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    ProportionStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)
from gbstats.utils import check_srm

OUT = Path(__file__).resolve().parents[1] / "tests" / "experiments" / "data" / "gbstats_golden.json"


def _binomial(name: str, users: int, conversions: int) -> dict[str, Any]:
    return {"name": name, "users": users, "conversions": conversions}


def _continuous(name: str, users: int, mean: float, sd: float) -> dict[str, Any]:
    """Sums of a metric with exactly this mean and (n - 1) standard deviation."""
    total = users * mean
    return {"name": name, "users": users, "sum": total,
            "sum_squares": sd * sd * (users - 1) + total * total / users}


def _with_covariate(arm: dict[str, Any], pre_mean: float, pre_sd: float,
                    corr: float) -> dict[str, Any]:
    n = arm["users"]
    mean = arm["sum"] / n if "sum" in arm else arm["conversions"] / n
    if "sum" in arm:
        sd = math.sqrt((arm["sum_squares"] - arm["sum"] ** 2 / n) / (n - 1))
    else:
        sd = math.sqrt(mean * (1 - mean) * n / (n - 1))
    pre_sum = n * pre_mean
    return {**arm, "pre_sum": pre_sum,
            "pre_sum_squares": pre_sd * pre_sd * (n - 1) + pre_sum**2 / n,
            "sum_product": corr * sd * pre_sd * (n - 1) + mean * pre_sum}


CASES: list[dict[str, Any]] = [
    {"id": "binomial_brief_example", "alpha": 0.05, "tuning": 5000,
     "arms": [_binomial("A", 10000, 512), _binomial("B", 10050, 570)]},
    {"id": "binomial_small", "alpha": 0.05, "tuning": 5000,
     "arms": [_binomial("A", 500, 30), _binomial("B", 520, 45)]},
    {"id": "binomial_large_tuned", "alpha": 0.05, "tuning": 100000,
     "arms": [_binomial("A", 1_000_000, 50_000), _binomial("B", 1_000_000, 50_600)]},
    {"id": "binomial_alpha10_tuning1000", "alpha": 0.10, "tuning": 1000,
     "arms": [_binomial("A", 2000, 120), _binomial("B", 2100, 150)]},
    {"id": "binomial_negative_alpha01", "alpha": 0.01, "tuning": 20000,
     "arms": [_binomial("A", 40000, 2000), _binomial("B", 39800, 1850)]},
    {"id": "binomial_winner_unequal_split", "alpha": 0.05, "tuning": 5000,
     "arms": [_binomial("A", 30000, 900), _binomial("B", 10000, 390)], "weights": [0.75, 0.25]},
    {"id": "continuous_revenue", "alpha": 0.05, "tuning": 5000,
     "arms": [_continuous("A", 8000, 2.40, 11.0), _continuous("B", 8100, 2.71, 12.5)]},
    {"id": "continuous_small_n", "alpha": 0.05, "tuning": 5000,
     "arms": [_continuous("A", 30, 10.0, 4.0), _continuous("B", 25, 12.5, 6.0)]},
    {"id": "continuous_alpha01_tuning50000", "alpha": 0.01, "tuning": 50000,
     "arms": [_continuous("A", 25000, 31.0, 40.0), _continuous("B", 24800, 30.2, 38.0)]},
    {"id": "continuous_cuped", "alpha": 0.05, "tuning": 5000,
     "arms": [_with_covariate(_continuous("A", 6000, 5.0, 9.0), 4.8, 8.5, 0.6),
              _with_covariate(_continuous("B", 6050, 5.3, 9.4), 4.85, 8.6, 0.62)]},
    {"id": "binomial_cuped", "alpha": 0.05, "tuning": 10000,
     "arms": [_with_covariate(_binomial("A", 12000, 720), 0.3, 0.9, 0.35),
              _with_covariate(_binomial("B", 12100, 810), 0.31, 0.92, 0.33)]},
]


def _statistic(arm: dict[str, Any]) -> Any:
    if "sum" in arm:
        post: Any = SampleMeanStatistic(n=arm["users"], sum=arm["sum"],
                                        sum_squares=arm["sum_squares"])
    else:
        post = ProportionStatistic(n=arm["users"], sum=arm["conversions"])
    if "pre_sum" not in arm:
        return post
    pre = SampleMeanStatistic(n=arm["users"], sum=arm["pre_sum"],
                              sum_squares=arm["pre_sum_squares"])
    return RegressionAdjustedStatistic(n=arm["users"], post_statistic=post, pre_statistic=pre,
                                       post_pre_sum_of_products=arm["sum_product"], theta=0)


def _pair(case: dict[str, Any]) -> tuple[Any, Any]:
    # fresh objects per test: gbstats writes theta into regression-adjusted statistics
    return _statistic(case["arms"][0]), _statistic(case["arms"][1])


def golden(case: dict[str, Any]) -> dict[str, Any]:
    """gbstats' sequential, fixed and Bayesian results plus the SRM p-value for a case."""
    alpha, tuning = case["alpha"], case["tuning"]
    seq = SequentialTwoSidedTTest(*_pair(case), SequentialConfig(
        alpha=alpha, sequential_tuning_parameter=tuning)).compute_result()
    fixed = TwoSidedTTest(*_pair(case), FrequentistConfig(alpha=alpha)).compute_result()
    bayes = EffectBayesianABTest(*_pair(case), EffectBayesianConfig(alpha=alpha)).compute_result()
    users = [a["users"] for a in case["arms"]]
    weights = case.get("weights", [1 / len(users)] * len(users))
    return {
        "sequential": {"lift": seq.expected, "ci": list(seq.ci), "p_value": seq.p_value,
                       "error": seq.error_message},
        "fixed": {"lift": fixed.expected, "ci": list(fixed.ci), "p_value": fixed.p_value,
                  "error": fixed.error_message},
        "bayesian": {"lift": bayes.expected, "ci": list(bayes.ci),
                     "chance_to_win": bayes.chance_to_win, "risk_treatment": bayes.risk[1],
                     "error": bayes.error_message},
        "srm_p_value": float(check_srm(users, weights)),
    }


def main() -> None:
    """Compute every case and write the JSON next to the tests."""
    out = {
        "generator": "benchmarks/gbstats_golden.py",
        "gbstats_version": importlib.metadata.version("gbstats"),
        "cases": [{**case, "gbstats": golden(case)} for case in CASES],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(CASES)} cases to {OUT} (gbstats {out['gbstats_version']})")


if __name__ == "__main__":
    main()
