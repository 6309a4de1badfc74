"""Read-outs the dashboards need beyond the raw tables: an experiment's looks under every
method, the top converting paths and the Markov removal effects.

The experiment read-out re-runs ``experiments.stats.analyze`` on the per-look counts of the
``experiment_results`` asset (users and conversions are the asset's; only the method
differs), so the sequential interval equals the asset's and the fixed-horizon interval and
chance to beat are computed on exactly the same data. Ratio metrics (leads or revenue per
session; the experiment's own and any asked for with ``?ratio=``) are read live from the
warehouse (``experiments.readout``) and analysed with the delta method, fixed and
sequential, as of now.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Query
from pydantic import BaseModel

from app_api.deps import PermAnalytics
from app_api.errors import APIError
from app_api.routes.experiments import get_experiment
from app_api.schemas import PathId
from experiments.readout import RATIO_SUFFIX, ratio_numerator, read_metrics
from experiments.stats import VariantData, analyze
from pipelines.analytics.credit import PATHS_SQL
from pipelines.attribution.markov import absorption, build_chain, removal_effects
from pipelines.attribution.paths import encode

router = APIRouter(prefix="/v1/insights", tags=["insights"])

METHODS = ("sequential", "fixed", "bayesian")


class Readout(BaseModel):
    experiment_id: str
    experiment_key: str
    baseline: str
    variants: list[str]
    planned_users_per_arm: int
    alpha: float
    looks: list[dict[str, Any]]
    latest: dict[str, Any] | None
    ratios: list[dict[str, Any]] = []


class PathRows(BaseModel):
    total_conversions: float
    rows: list[dict[str, Any]]


class RemovalEffects(BaseModel):
    baseline_conversion_probability: float
    rows: list[dict[str, Any]]


def _comparison_row(look: dt.date, method: str, c: Any, arm: VariantData, srm: float | None,
                    error: str | None) -> dict[str, Any]:
    return {"look_date": look.isoformat(), "method": method, "variant": arm.name,
            "users": arm.users, "conversions": int(arm.conversions or 0),
            "conversion_rate": (arm.conversions or 0) / arm.users if arm.users else None,
            "lift": c.lift if c else None, "ci_low": c.ci_low if c else None,
            "ci_high": c.ci_high if c else None, "p_value": c.p_value if c else None,
            "significant": bool(c.significant) if c else False,
            "chance_to_beat": c.chance_to_beat if c else None,
            "expected_loss": c.expected_loss if c else None,
            "srm_p_value": srm, "error": (c.error if c else None) or error or ""}


def _ratio_rows(ctx: PermAnalytics, exp: Any, names: list[str]) -> list[dict[str, Any]]:
    """Each ratio metric now, under the fixed and the sequential method, one row per arm."""
    if not names:
        return []
    variants = [str(v["key"]) for v in exp.variants]
    _, metrics = read_metrics(ctx.warehouse(), exp.org_id, exp.key, variants,
                              exp.primary_metric or "lead", names,
                              magnet_id=exp.magnet_id or "")
    rows = []
    for metric in metrics:
        for method in METHODS[:2]:
            result = analyze(metric.variants, method=method, alpha=exp.alpha)  # type: ignore[arg-type]
            by_variant = {c.variant: c for c in result.comparisons}
            for arm in metric.variants:
                c = by_variant.get(arm.name)
                rows.append({
                    "metric": metric.name, "method": method, "variant": arm.name,
                    "users": arm.users, "numerator": arm.sum, "denominator": arm.denominator_sum,
                    "value": (arm.sum or 0) / arm.denominator_sum if arm.denominator_sum else None,
                    "lift": c.lift if c else None, "ci_low": c.ci_low if c else None,
                    "ci_high": c.ci_high if c else None, "p_value": c.p_value if c else None,
                    "significant": bool(c.significant) if c else False,
                    "error": (c.error if c else None) or result.error or ""})
    return rows


@router.get("/experiments/{experiment_id}/readout", response_model=Readout)
def experiment_readout(
    experiment_id: PathId, ctx: PermAnalytics,
    ratio: Annotated[list[str] | None, Query(
        max_length=5, description="ratio metrics to add, repeated or comma-separated, e.g. "
                                  "lead_per_session,revenue_per_session")] = None,
) -> dict[str, Any]:
    """Every daily look of an experiment under the sequential and fixed-horizon methods (and
    Bayesian chance to beat and expected loss at the latest look), on the experiment_results
    asset's counts; ratio metrics per session as of now."""
    ratio = [name for item in ratio or [] for name in item.split(",") if name]
    if len(ratio) > 5:
        raise APIError(422, "invalid", f"at most 5 ratio metrics, got {len(ratio)}")
    bad = [r for r in ratio if not ratio_numerator(r) or not r.replace("_", "").isalnum()
           or len(r) > 64]
    if bad:
        raise APIError(422, "invalid", f"ratio metrics are '<event>{RATIO_SUFFIX}' or "
                       f"'revenue{RATIO_SUFFIX}' (e.g. lead{RATIO_SUFFIX}); not {bad[0]!r}",
                       details=[{"field": "ratio", "message": f"not a ratio metric: {b!r}"}
                                for b in bad])
    exp = get_experiment(ctx, experiment_id)
    variants = [v["key"] for v in exp.variants]
    weights = [float(v.get("weight", 1.0)) for v in exp.variants]
    total = sum(weights) or 1.0
    wh = ctx.warehouse()
    counts: list[dict[str, Any]] = []
    if wh.has_model("experiment_results"):
        counts = wh.query(
            "SELECT look_date, variant, any(users) AS users, any(conversions) AS conversions "
            "FROM {{ ref('experiment_results') }} WHERE experiment_key = {key:String} "
            "GROUP BY look_date, variant ORDER BY look_date", {"key": exp.key})
    by_look: dict[dt.date, dict[str, dict[str, Any]]] = {}
    for r in counts:
        by_look.setdefault(r["look_date"], {})[r["variant"]] = r
    looks: list[dict[str, Any]] = []
    ordered = sorted(by_look.items())
    for i, (look, arms) in enumerate(ordered):
        data = [VariantData(v, int(arms.get(v, {}).get("users", 0)),
                            conversions=float(arms.get(v, {}).get("conversions", 0)),
                            expected_weight=w / total) for v, w in zip(variants, weights, strict=True)]
        # the Bayesian read-out (~0.1 s per look) is computed for the latest look only
        for method in METHODS if i == len(ordered) - 1 else METHODS[:2]:
            result = analyze(data, method=method, alpha=exp.alpha)  # type: ignore[arg-type]
            by_variant = {c.variant: c for c in result.comparisons}
            looks.extend(_comparison_row(look, method, by_variant.get(arm.name), arm,
                                         result.srm_p_value, result.error) for arm in data)
    own = [m for m in (exp.primary_metric, *(exp.guardrail_metrics or [])) if ratio_numerator(m)]
    names = list(dict.fromkeys([*own, *ratio]))
    last_day = looks[-1]["look_date"] if looks else None
    latest = None
    if last_day:
        latest = {m: [r for r in looks if r["look_date"] == last_day and r["method"] == m]
                  for m in METHODS}
    return {"experiment_id": exp.id, "experiment_key": exp.key,
            "baseline": variants[0] if variants else "", "variants": variants,
            "planned_users_per_arm": exp.min_users_per_arm, "alpha": exp.alpha,
            "looks": looks, "latest": latest, "ratios": _ratio_rows(ctx, exp, names)}


def _paths(ctx: PermAnalytics) -> pl.DataFrame:
    wh = ctx.warehouse()
    if not (wh.has_model("conversion_paths") and wh.has_model("lead_values")):
        return pl.DataFrame()
    frame = wh.query_polars(PATHS_SQL)
    return frame.drop("org_id") if frame.height else pl.DataFrame()


@router.get("/attribution/paths", response_model=PathRows)
def top_paths(ctx: PermAnalytics,
              limit: Annotated[int, Query(ge=1, le=200)] = 20) -> dict[str, Any]:
    """The converting channel paths with the most leads (identical paths summed)."""
    frame = _paths(ctx)
    if frame.is_empty():
        return {"total_conversions": 0.0, "rows": []}
    total = float(frame["conversions"].sum())
    top = (frame.filter(pl.col("conversions") > 0)
           .with_columns(pl.col("path").list.join(" → ").alias("path_text"),
                         pl.col("path").list.len().alias("touches"))
           .sort(["conversions", "path_text"], descending=[True, False]).head(limit))
    rows = [{"path": r["path_text"], "touches": r["touches"], "conversions": r["conversions"],
             "non_conversions": r["non_conversions"], "value": r["value"],
             "conversion_share": r["conversions"] / total if total else 0.0,
             "path_conversion_rate": r["conversions"] / (r["conversions"] + r["non_conversions"])
             if (r["conversions"] + r["non_conversions"]) else None}
            for r in top.iter_rows(named=True)]
    return {"total_conversions": total, "rows": rows}


@router.get("/attribution/removal-effects", response_model=RemovalEffects)
def markov_removal_effects(ctx: PermAnalytics) -> dict[str, Any]:
    """Markov (order 1) removal effect per channel: the share of conversions lost if the
    channel disappeared from every path (what the Markov model's credit is built from)."""
    frame = _paths(ctx)
    if frame.is_empty() or float(frame["conversions"].sum()) == 0:
        return {"baseline_conversion_probability": 0.0, "rows": []}
    encoded = encode(frame)
    chain = build_chain(encoded, 1)
    base = float(absorption(chain)[0])
    effects = removal_effects(chain)[:, 0]
    rows: list[dict[str, Any]] = [
        {"channel": ch, "removal_effect": float(e) / base if base else 0.0,
         "conversion_probability_without": max(base - float(e), 0.0)}
        for ch, e in zip(encoded.channels, effects, strict=True)]
    rows.sort(key=lambda r: (-float(r["removal_effect"]), str(r["channel"])))
    return {"baseline_conversion_probability": base, "rows": rows}

