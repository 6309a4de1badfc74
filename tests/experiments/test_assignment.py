"""Deterministic assignment: GrowthBook vectors, uniformity, coverage stability, JS twin."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import uuid

import numpy as np
import pytest
from scipy import stats

from experiments.assignment import (
    JS_SOURCE_PATH,
    assign,
    bucket_ranges,
    choose_variant,
    fnv1a32,
    hash_unit,
)

# growthbook/growthbook packages/sdk-js/test/cases.json, "hash" cases with version 2
# ([seed, value, 2, expected]) and the bucket of "creates experiments properly".
GROWTHBOOK_HASH_V2 = [
    ("seed", "a", 0.0505),
    ("seed", "b", 0.2696),
    ("foo", "ab", 0.2575),
    ("foo", "def", 0.2019),
    ("89123klj", "8952klfjas09ujkasdf", 0.124),
    ("90850943850283058242805", "123", 0.7516),
    ("()**(%$##$%#$#", '___)((*":&', 0.0128),
    ("feature", "123", 0.5231),
]

# Same file, "getBucketRange" cases whose weights already sum to 1 (GrowthBook replaces
# other weights by an equal split; we normalise them instead).
GROWTHBOOK_RANGES = [
    ([0.5, 0.5], 1.0, [(0, 0.5), (0.5, 1)]),
    ([0.5, 0.5], 0.5, [(0, 0.25), (0.5, 0.75)]),
    ([0.5, 0.5], 0.0, [(0, 0), (0.5, 0.5)]),
    ([0.25] * 4, 1.0, [(0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1)]),
    ([0.4, 0.6], 1.0, [(0, 0.4), (0.4, 1)]),
    ([0.2, 0.3, 0.5], 1.0, [(0, 0.2), (0.2, 0.5), (0.5, 1)]),
    ([0.2, 0.3, 0.5], 0.2, [(0, 0.04), (0.2, 0.26), (0.5, 0.6)]),
    ([0.5, 0.5], -0.2, [(0, 0), (0.5, 0.5)]),
    ([0.5, 0.5], 1.5, [(0, 0.5), (0.5, 1)]),
]


@pytest.mark.parametrize(("seed", "value", "expected"), GROWTHBOOK_HASH_V2)
def test_growthbook_hash_v2_vectors(seed: str, value: str, expected: float) -> None:
    assert hash_unit(seed, value) == expected


@pytest.mark.parametrize(("weights", "coverage", "expected"), GROWTHBOOK_RANGES)
def test_growthbook_bucket_ranges(weights: list[float], coverage: float,
                                  expected: list[tuple[float, float]]) -> None:
    flat = [x for r in bucket_ranges(weights, coverage) for x in r]
    assert flat == pytest.approx([x for r in expected for x in r], abs=1e-12)


def test_fnv1a32_reference_values() -> None:
    # Published FNV-1a 32-bit test vectors (Fowler/Noll/Vo).
    assert fnv1a32("") == 0x811C9DC5
    assert fnv1a32("a") == 0xE40C292C
    assert fnv1a32("foobar") == 0xBF9CF968


def test_weights_are_normalised_and_validated() -> None:
    assert bucket_ranges([3, 1]) == [(0.0, 0.75), (0.75, 1.0)]
    for bad in ([], [0, 0], [-1, 2], [float("nan"), 1]):
        with pytest.raises(ValueError):
            bucket_ranges(bad)


def test_assign_is_deterministic_and_named() -> None:
    ids = [uuid.UUID(int=random.Random(1).getrandbits(128)).hex for _ in range(1)]
    first = assign("exp-1", ids[0], ["control", "treatment"])
    assert first in {"control", "treatment"}
    assert all(assign("exp-1", ids[0], ["control", "treatment"]) == first for _ in range(5))
    assert assign("exp-1", ids[0], ["control", "treatment"], coverage=0.0) is None
    with pytest.raises(ValueError):
        assign("exp-1", ids[0], ["a", "b"], weights=[1.0])


def _ids(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n)]


def test_hash_is_uniform_chi_square_100k() -> None:
    buckets = np.array([hash_unit("uniformity", i) for i in _ids(100_000, 7)])
    assert buckets.min() >= 0 and buckets.max() < 1
    counts = np.bincount((buckets * 100).astype(int), minlength=100)
    assert stats.chisquare(counts).pvalue > 1e-3
    # variant shares follow uneven weights too
    variants = np.array([choose_variant("uniformity", str(b), [0.2, 0.3, 0.5])
                         for b in range(30_000)])
    observed = np.bincount(variants, minlength=3)
    assert stats.chisquare(observed, 30_000 * np.array([0.2, 0.3, 0.5])).pvalue > 1e-3


def test_changing_coverage_never_moves_a_unit() -> None:
    ids = _ids(20_000, 11)
    weights = [0.2, 0.3, 0.5]
    low = [choose_variant("cov", i, weights, 0.3) for i in ids]
    high = [choose_variant("cov", i, weights, 0.8) for i in ids]
    assert all(h == lo for lo, h in zip(low, high, strict=True) if lo is not None)
    in_low = sum(v is not None for v in low) / len(ids)
    in_high = sum(v is not None for v in high) / len(ids)
    assert in_low == pytest.approx(0.3, abs=0.015)
    assert in_high == pytest.approx(0.8, abs=0.015)


NODE_RUNNER = """
const fs = require('fs');
eval(fs.readFileSync(process.argv[1], 'utf8'));
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = input.configs.map(c => input.ids.map(id => lsAssign(c.seed, id, c.weights, c.coverage)));
process.stdout.write(JSON.stringify(out));
"""

JS_CONFIGS = [
    {"seed": "exp-a", "weights": [1, 1], "coverage": 1.0},
    {"seed": "feature", "weights": [0.1, 0.9], "coverage": 0.99},
    {"seed": "exp-c", "weights": [0.2, 0.3, 0.5], "coverage": 0.2},
    {"seed": "exp-d", "weights": [1, 1, 1], "coverage": 0.7},
    {"seed": "exp-e", "weights": [3, 2, 0.5, 4.5], "coverage": 1.0},
    {"seed": "séed-ü-😀", "weights": [0.25, 0.25, 0.5], "coverage": 0.5},
]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_twin_matches_python() -> None:
    ids = _ids(9_990, 3) + ["", "123", "josé", "日本語", "😀-emoji", "a b\tc", "\u00ff\u0100",
                            "\u07ff\u0800", "\uffff", "x" * 300]
    assert len(ids) == 10_000
    payload = json.dumps({"ids": ids, "configs": JS_CONFIGS})
    proc = subprocess.run(
        ["node", "-e", NODE_RUNNER, str(JS_SOURCE_PATH)],
        input=payload, capture_output=True, text=True, timeout=60, check=True,
    )
    js = json.loads(proc.stdout)
    for config, js_result in zip(JS_CONFIGS, js, strict=True):
        expected = [choose_variant(config["seed"], i, config["weights"], config["coverage"])
                    for i in ids]
        assert js_result == [-1 if e is None else e for e in expected], config
