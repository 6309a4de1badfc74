"""Ratio metrics read from the warehouse (leads and revenue per session, the unit being the
exposed visitor): per-arm sums equal the ground truth of a seeded event log, and the fixed
interval equals statsmodels' delta method on the per-visitor values computed in Python,
the standard error a bootstrap's."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from statsmodels.stats._delta_method import NonlinearDeltaCov

from experiments.readout import read_metrics
from experiments.stats import analyze
from kernel.events import make_row, rows_to_arrow
from kernel.settings import Settings
from kernel.warehouse.lake_backend import LakeWarehouse

T = 1_764_000_000_000
HOUR = 3_600_000


def _log(rng: np.random.Generator) -> tuple[list[dict[str, object]], dict[str, np.ndarray]]:
    """Visitors with 1-4 sessions two hours apart from their exposure on; B converts more
    per session. Returns the events and, per arm, rows (sessions, leads, revenue)."""
    rows: list[dict[str, object]] = []
    truth: dict[str, list[tuple[float, float, float]]] = {"A": [], "B": []}
    for i in range(500):
        arm = "AB"[i % 2]
        vid, t0 = f"v{i}", T + i * 1_000
        # a session the day before the exposure, with a lead: counts for nothing
        rows.append(make_row(org_id="o", event="pageview", ts=t0 - 24 * HOUR, visitor_id=vid))
        rows.append(make_row(org_id="o", event="lead", ts=t0 - 24 * HOUR + 5, visitor_id=vid))
        sessions, leads, revenue = 1 + int(rng.poisson(1.0)), 0, 0.0
        rate = 0.12 if arm == "A" else 0.18
        for j in range(sessions):
            ts = t0 + j * 2 * HOUR
            rows.append(make_row(org_id="o", event="exposure" if j == 0 else "pageview", ts=ts,
                                 visitor_id=vid, experiment_id="x" if j == 0 else "",
                                 variant=arm if j == 0 else ""))
            if rng.random() < rate:
                leads += 1
                rows.append(make_row(org_id="o", event="lead", ts=ts + 10, visitor_id=vid))
            if rng.random() < 0.1:
                value = float(rng.choice([10.0, 20.0, 50.0]))
                revenue += value
                rows.append(make_row(org_id="o", event="purchase", ts=ts + 20, visitor_id=vid,
                                     value=value))
        truth[arm].append((float(sessions), float(leads), revenue))
    return rows, {k: np.array(v) for k, v in truth.items()}


def _lift(params: np.ndarray) -> np.ndarray:
    ya, xa, yb, xb = params
    return np.array([(yb / xb) / (ya / xa) - 1])


def _statsmodels(a: np.ndarray, b: np.ndarray, col: int, alpha: float) -> NonlinearDeltaCov:
    cov = np.zeros((4, 4))
    cov[:2, :2] = np.cov(np.vstack([a[:, col], a[:, 0]])) / len(a)
    cov[2:, 2:] = np.cov(np.vstack([b[:, col], b[:, 0]])) / len(b)
    means = np.array([a[:, col].mean(), a[:, 0].mean(), b[:, col].mean(), b[:, 0].mean()])
    return NonlinearDeltaCov(_lift, means, cov)


def test_ratio_metrics_from_the_warehouse_match_an_independent_computation(
        settings: Settings) -> None:
    rows, truth = _log(np.random.default_rng(20261208))
    wh = LakeWarehouse(settings.lake_dir)
    wh.insert_events(rows_to_arrow(rows), "t")
    until = dt.datetime.fromtimestamp((T + 30 * HOUR) / 1000, dt.UTC)
    # without the sessions model there is no denominator yet: the analysis says so
    early, _ = read_metrics(wh, "o", "x", ["A", "B"], "lead_per_session", until=until)
    assert all(v.denominator_sum == 0 for v in early.variants)
    assert analyze(early.variants).error is not None
    wh.materialize("sessions")

    leads, (revenue,) = read_metrics(wh, "o", "x", ["A", "B"], "lead_per_session",
                                     ["revenue_per_session"], until=until)
    for metric, col in ((leads, 1), (revenue, 2)):
        for arm in metric.variants:
            t = truth[arm.name]
            assert arm.users == len(t)
            assert arm.sum == pytest.approx(t[:, col].sum())
            assert arm.sum_squares == pytest.approx((t[:, col] ** 2).sum())
            assert arm.denominator_sum == pytest.approx(t[:, 0].sum())
            assert arm.denominator_sum_squares == pytest.approx((t[:, 0] ** 2).sum())
            assert arm.denominator_product == pytest.approx((t[:, 0] * t[:, col]).sum())
        for alpha in (0.05, 0.1):
            reference = _statsmodels(truth["A"], truth["B"], col, alpha)
            (low, high), = reference.conf_int(alpha=alpha)
            c = analyze(metric.variants, method="fixed", alpha=alpha).comparisons[0]
            assert c.lift == pytest.approx(reference.predicted()[0], abs=1e-12)
            assert (c.ci_low, c.ci_high) == (pytest.approx(low, abs=1e-6),
                                              pytest.approx(high, abs=1e-6))
        # the sequential interval holds the same estimate and is wider
        s = analyze(metric.variants, method="sequential").comparisons[0]
        f = analyze(metric.variants, method="fixed").comparisons[0]
        assert s.lift == f.lift and s.ci_low < f.ci_low and s.ci_high > f.ci_high  # type: ignore[operator]

    # the delta method's standard error against a bootstrap over visitors (2,000 resamples)
    rng = np.random.default_rng(7)
    a, b = truth["A"], truth["B"]
    lifts = []
    for _ in range(2_000):
        ra, rb = a[rng.integers(0, len(a), len(a))], b[rng.integers(0, len(b), len(b))]
        lifts.append((rb[:, 1].sum() / rb[:, 0].sum()) / (ra[:, 1].sum() / ra[:, 0].sum()) - 1)
    c = analyze(leads.variants, method="fixed").comparisons[0]
    delta_se = (c.ci_high - c.ci_low) / (2 * 1.959964)  # type: ignore[operator]
    assert delta_se == pytest.approx(float(np.std(lifts)), rel=0.1)
    wh.close()
