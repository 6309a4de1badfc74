"""analyze() against GrowthBook's gbstats 0.8.0 (benchmarks/gbstats_golden.py wrote the JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from experiments.stats import VariantData, analyze

GOLDEN = json.loads((Path(__file__).parent / "data" / "gbstats_golden.json").read_text())
CASES = GOLDEN["cases"]


def _variants(case: dict[str, Any]) -> list[VariantData]:
    weights = case.get("weights") or [None] * len(case["arms"])
    return [VariantData(**arm, expected_weight=w) for arm, w in zip(case["arms"], weights,
                                                                   strict=True)]


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for c in cases]


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_sequential_matches_gbstats(case: dict[str, Any]) -> None:
    gb = case["gbstats"]["sequential"]
    c = analyze(_variants(case), method="sequential", alpha=case["alpha"],
                sequential_tuning_parameter=case["tuning"]).comparisons[0]
    assert c.error is None
    assert c.lift == pytest.approx(gb["lift"], abs=1e-9)
    assert c.ci_low == pytest.approx(gb["ci"][0], abs=1e-6)
    assert c.ci_high == pytest.approx(gb["ci"][1], abs=1e-6)
    assert c.p_value == pytest.approx(gb["p_value"], abs=1e-6)


CONTINUOUS = [c for c in CASES if "sum" in c["arms"][0]]


@pytest.mark.parametrize("case", CONTINUOUS, ids=_ids(CONTINUOUS))
def test_fixed_welch_matches_gbstats(case: dict[str, Any]) -> None:
    gb = case["gbstats"]["fixed"]
    c = analyze(_variants(case), method="fixed", alpha=case["alpha"]).comparisons[0]
    assert c.ci_low == pytest.approx(gb["ci"][0], abs=1e-6)
    assert c.ci_high == pytest.approx(gb["ci"][1], abs=1e-6)
    assert c.p_value == pytest.approx(gb["p_value"], abs=1e-6)


NORMAL_POSTERIOR = [c for c in CASES if "sum" in c["arms"][0] or "pre_sum" in c["arms"][0]]


@pytest.mark.parametrize("case", NORMAL_POSTERIOR, ids=_ids(NORMAL_POSTERIOR))
def test_bayesian_normal_posterior_matches_gbstats(case: dict[str, Any]) -> None:
    gb = case["gbstats"]["bayesian"]
    c = analyze(_variants(case), method="bayesian", alpha=case["alpha"]).comparisons[0]
    assert c.ci_low == pytest.approx(gb["ci"][0], abs=1e-6)
    assert c.ci_high == pytest.approx(gb["ci"][1], abs=1e-6)
    assert c.chance_to_beat == pytest.approx(gb["chance_to_win"], abs=1e-6)
    assert c.expected_loss == pytest.approx(gb["risk_treatment"], abs=1e-6)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_srm_matches_gbstats(case: dict[str, Any]) -> None:
    result = analyze(_variants(case))
    assert result.srm_p_value == pytest.approx(case["gbstats"]["srm_p_value"], abs=1e-9)


def test_golden_file_is_what_the_docs_say() -> None:
    assert GOLDEN["gbstats_version"] == "0.8.0"
    assert len(CASES) >= 10
    assert any("pre_sum" in c["arms"][0] for c in CASES)
