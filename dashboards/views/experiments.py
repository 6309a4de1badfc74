"""Experiments: a planner (set the MDE, see users and days to a decision, fixed and
sequential, and the chance of deciding by a date); every test's status, sample and latest
decision; per test the always-valid interval over time beside the fixed-horizon one, lift,
chance to beat, expected loss, SRM, per-session ratio metrics, guardrails, the holdout after
promotion, and the lifecycle actions the signed-in role holds."""

from __future__ import annotations

import datetime as dt
from typing import Any

import altair as alt
import polars as pl
import streamlit as st

from dashboards import filters
from dashboards import format as F
from dashboards.client import ApiError
from dashboards.data import act, fetch, get, show_error
from dashboards.page import viewer
from kernel import permissions as P

#: benchmarks/stats_validation.py, quoted in the README (A/A, 5,000 experiments, 100 looks).
PEEKING = ("Why not the fixed-horizon interval? It is valid only if you look once, at the "
           "planned sample. In `benchmarks/stats_validation.py`'s 5,000 simulated A/A tests "
           "with 100 looks each, stopping at the first fixed-horizon look that seemed "
           "significant declared a false winner 38.8 % of the time (7.8 × α); the confidence "
           "sequence, which stays valid however often you look, did so 4.9 % of the time.")
#: Early looks have intervals of several hundred per cent; the chart clips them here.
CLIP = 1.0

#: Events a plan can be made for (the primary metric's conversion event).
PLAN_METRICS = ["lead", "confirmed", "download", "form_start", "purchase"]


def days(x: float | None) -> str:
    return "–" if x is None else f"{x:,.1f}"


def planner(v: Any, expanded: bool) -> None:
    """Plan an experiment at a site's recent traffic (GET /v1/experiment-planner)."""
    with st.expander("Plan an experiment: users and days to a decision", expanded=expanded):
        sites = get(v, "/v1/sites", limit=200)["data"]
        if not sites:
            st.info("Add a site first: the planner reads its recent traffic.")
            return
        names = {s["id"]: s["name"] for s in sites}
        c1, c2, c3, c4, c5 = st.columns([2, 1, 1, 1, 1])
        site = c1.selectbox("Site", list(names), format_func=names.__getitem__,
                            key="planner_site")
        metric = c2.selectbox("Conversion event", PLAN_METRICS, key="planner_metric")
        mde = c3.number_input("Minimum detectable effect (relative, %)", min_value=0.0,
                              max_value=1000.0, value=10.0, step=1.0, key="planner_mde",
                              help="The smallest lift worth detecting: 10 = +10 % relative.")
        arms = c4.number_input("Arms", min_value=2, max_value=5, value=2, step=1,
                               key="planner_arms")
        by = c5.date_input("Decide by", value=dt.date.today() + dt.timedelta(days=30),
                           min_value=dt.date.today(), key="planner_by")
        try:
            p = fetch(v, "/v1/experiment-planner", site_id=site, metric=metric,
                      mde=float(mde) / 100, arms=int(arms), by=by)
        except ApiError as exc:
            st.warning(f"Cannot plan: {exc.message}")
            return
        t = p["traffic"]
        st.caption(f"At this site's last {t['days']} days: {t['users_per_day']:,.0f} visitors "
                   f"a day, {F.pct(t['base_rate'])} with a `{t['metric']}`; α = {p['alpha']}, "
                   f"power {p['power']:.0%} for the fixed design.")
        st.table([{
            "Design": label, "Users per arm": F.count(round(d["users_per_arm"])),
            "Expected days": days(d["days"]), "Median days": days(d["median_days"]),
            "Chance to decide (power)": F.pct(d["chance_to_decide"], 0),
            f"Chance to decide by {p['by']}": F.pct(d["chance_by_date"], 0),
        } for label, d in (("Fixed horizon (look once)", p["fixed"]),
                           ("Sequential (the sensor's test)", p["sequential"]))])
        st.caption(p["summary"] + f" Power: the fixed design's at its planned sample, the "
                   f"sequential design's within {p['max_days']:g} days (its cap).")


v = viewer()
st.title("Experiments")
experiments = sorted(get(v, "/v1/experiments", limit=200)["data"], key=lambda e: e["key"])
planner(v, expanded=not experiments)
if not experiments:
    st.info("No experiments yet. Create one with `POST /v1/experiments` (a magnet and its "
            "variants), then start it here or with `POST /v1/experiments/{id}/start`.")
    st.stop()

looks_all = get(v, "/v1/stats/experiment-results")["rows"]
latest_users: dict[str, dict[str, int]] = {}
for r in sorted(looks_all, key=lambda r: r["look_date"]):
    latest_users.setdefault(r["experiment_key"], {})[r["variant"]] = r["users"]


def days_running(e: dict[str, Any]) -> str:
    if not e.get("started_at"):
        return "–"
    start = dt.datetime.fromisoformat(e["started_at"].replace("Z", "+00:00"))
    stop = dt.datetime.fromisoformat(e["stopped_at"].replace("Z", "+00:00")) if e.get("stopped_at") \
        else dt.datetime.now(dt.UTC)
    return f"{(stop - start).total_seconds() / 86400:.1f}"


st.dataframe([{
    "Experiment": e["name"], "Key": e["key"], "Status": e["status"],
    "Days running": days_running(e),
    "Users per arm (latest look)": " · ".join(f"{k} {n:,}" for k, n in
                                               latest_users.get(e["key"], {}).items()) or "–",
    "Winner": e.get("winner") or "",
    "Latest decision": "; ".join((e.get("decision") or {}).get("reasons", []))[:200],
} for e in experiments], hide_index=True, width="stretch")

by_key = {e["key"]: e for e in experiments}
key = filters.choose("Experiment", "experiment", list(by_key), {k: by_key[k]["name"] for k in by_key},
                     allow_all=False, sidebar=False, key="experiment_pick")
exp = by_key[key or experiments[0]["key"]]
st.header(exp["name"])
st.caption(f"`{exp['key']}` · status **{exp['status']}** · primary metric `{exp['primary_metric']}` · "
           f"α = {exp.get('alpha', 0.05)} · hypothesis: {exp.get('hypothesis') or '–'}")

# -- actions, offered only to roles that hold the permission --------------------------------
variants = [a["key"] for a in exp["variants"]]
status = exp["status"]
offers: list[tuple[str, str, dict[str, Any] | None]] = []
if v.can(P.LEAD_MAGNETS_WRITE) and status == "draft":
    offers.append(("Start", "start", None))
if v.can(P.LEAD_MAGNETS_WRITE) and status == "running":
    offers.append(("Stop", "stop", {"note": "stopped from the dashboard"}))
if v.can(P.EXPERIMENTS_PROMOTE) and status in ("running", "stopped"):
    offers += [(f"Promote {k}", "promote", {"winner": k, "note": "promoted from the dashboard"})
               for k in variants[1:]]
if v.can(P.EXPERIMENTS_PROMOTE) and status in ("running", "stopped", "promoted"):
    offers.append(("Roll back", "rollback", {"note": "rolled back from the dashboard"}))
pending = st.session_state.get("pending_action")
if pending and pending[0] != exp["id"]:
    pending = None
if offers:
    cols = st.columns(len(offers) + 2)
    for col, (text, action, body) in zip(cols, offers, strict=False):
        if col.button(text, key=f"act_{action}_{text}"):
            st.session_state["pending_action"] = (exp["id"], text, action, body)
            st.rerun()
if pending:
    _, text, action, body = pending
    st.warning(f"{text} **{exp['name']}**? This changes what visitors see and is recorded in "
               "the audit log.")
    yes, no, _ = st.columns([1, 1, 6])
    if yes.button(f"Confirm: {text}", type="primary", key="confirm_action"):
        st.session_state.pop("pending_action", None)
        try:
            act(v, f"/v1/experiments/{exp['id']}/{action}", body)
        except ApiError as exc:
            show_error(exc, key="retry_action")
        else:
            st.session_state["done_action"] = f"{text}: done (audited)."
            st.rerun()
    if no.button("Cancel", key="cancel_action"):
        st.session_state.pop("pending_action", None)
        st.rerun()
if done := st.session_state.pop("done_action", None):
    st.success(done)

decision = exp.get("decision") or {}
holdout = decision.get("holdout") or {}
if status == "promoted" and exp.get("holdout_started_at"):
    st.success(f"Promoted: variant {exp['winner']} gets {1 - exp['holdout_share']:.0%} of the "
               f"traffic; a {exp['holdout_share']:.0%} holdout keeps {variants[0]} until "
               f"{exp['holdout_ends_at'][:10]} while the guardrails are watched.")
    if holdout.get("summary"):
        st.info(holdout["summary"])
elif status == "promoted":
    st.success(f"Promoted: variant {exp['winner']} now gets 100 % of the traffic.")
    if holdout.get("summary"):
        st.caption(holdout["summary"])
elif status == "rolled_back" and decision.get("summary"):
    st.error(decision["summary"])
elif decision.get("reasons"):
    st.info("Latest decision of the promotion sensor: " + "; ".join(decision["reasons"]))

# -- the read-out ------------------------------------------------------------------------------
readout = get(v, f"/v1/insights/experiments/{exp['id']}/readout")
if not readout["looks"]:
    st.info("No looks yet: the `experiment_results` asset computes one per day once the "
            "experiment runs and visitors are exposed (`lodestone materialize experiment_results`).")
    st.stop()
latest = readout["latest"]
planned = readout["planned_users_per_arm"]
seq = {r["variant"]: r for r in latest["sequential"]}
fixed = {r["variant"]: r for r in latest["fixed"]}
bayes = {r["variant"]: r for r in latest["bayesian"]}
look_day = latest["sequential"][0]["look_date"]
st.subheader(f"Latest look ({look_day})")


def interval(r: dict[str, Any]) -> str:
    if r["ci_low"] is None:
        return "–"
    return f"[{F.pct(r['ci_low'], 1, True)}, {F.pct(r['ci_high'], 1, True)}]"


st.dataframe([{
    "Variant": arm, "Users": F.count(seq[arm]["users"]), "Conversions": F.count(seq[arm]["conversions"]),
    "Conversion rate": F.pct(seq[arm]["conversion_rate"]),
    "Lift vs " + readout["baseline"]: F.pct(seq[arm]["lift"], 1, True) if arm != readout["baseline"] else "baseline",
    "Always-valid 95 % interval": interval(seq[arm]),
    "Fixed-horizon 95 % interval": interval(fixed[arm]),
    "Chance to beat control": F.pct(bayes[arm]["chance_to_beat"], 1),
    "Expected loss": F.pct(bayes[arm]["expected_loss"], 3),
    "p-value (sequential)": "–" if seq[arm]["p_value"] is None else f"{seq[arm]['p_value']:.3f}",
} for arm in readout["variants"]], hide_index=True, width="stretch")
st.caption("Lift is relative (+10 % = a tenth more conversions per user). Chance to beat and "
           "expected loss are Bayesian (flat prior) on the same counts; expected loss is the "
           "conversion rate you give up, relative to control, if you ship the variant and it "
           "is in fact worse.")
srm = latest["sequential"][0]["srm_p_value"]
c1, c2 = st.columns(2)
c1.metric("Sample ratio mismatch p-value", "–" if srm is None else f"{srm:.3f}",
          help="Chi-square test of the users per arm against the planned split; below 0.001 "
               "the assignment is broken and the results cannot be trusted.")
if srm is not None and srm < 0.001:
    c1.error("Sample ratio mismatch: fix the assignment before reading the results.")
smallest = min(seq[a]["users"] for a in readout["variants"])
c2.metric("Sample progress", f"{F.count(smallest)} / {F.count(planned)} users per arm",
          help="The smallest arm against the planned minimum users per arm.")
c2.progress(min(1.0, smallest / planned) if planned else 1.0)

# -- ratio metrics per session (delta method) ----------------------------------------------------
if st.toggle("Per-session metrics (leads and revenue per session, delta method)",
             key="ratio_toggle"):
    ratios = get(v, f"/v1/insights/experiments/{exp['id']}/readout",
                 ratio="lead_per_session,revenue_per_session")["ratios"]
    by_arm = {(r["metric"], r["method"], r["variant"]): r for r in ratios}
    st.dataframe([{
        "Metric": r["metric"].replace("_", " "), "Variant": r["variant"],
        "Per session": "–" if r["value"] is None else f"{r['value']:,.4f}",
        "Sessions": F.count(r["denominator"] or 0),
        "Lift": F.pct(r["lift"], 1, True) if r["variant"] != readout["baseline"] else "baseline",
        "Always-valid 95 % interval": interval(r),
        "Fixed-horizon 95 % interval": interval(by_arm[(r["metric"], "fixed", r["variant"])]),
    } for r in ratios if r["method"] == "sequential"], hide_index=True, width="stretch",
        key="ratio_table")
    st.caption("The unit is still the visitor: sessions per visitor vary, so the interval "
               "uses the delta method for a ratio of sums (docs/statistics.md).")

# -- lift over time: the two intervals side by side -----------------------------------------------
looks = pl.DataFrame(readout["looks"], infer_schema_length=None).filter(
    (pl.col("variant") != readout["baseline"]) & pl.col("method").is_in(["sequential", "fixed"])
    & pl.col("lift").is_not_null())
if looks.height:
    frame = looks.with_columns(
        pl.col("look_date").str.to_date(),
        pl.col("ci_low").clip(-CLIP, CLIP).alias("lo"), pl.col("ci_high").clip(-CLIP, CLIP).alias("hi"),
        pl.col("lift").clip(-CLIP, CLIP).alias("shown_lift"),
        pl.col("method").replace({"sequential": "Always-valid (sequential)",
                                  "fixed": "Fixed-horizon"}).alias("interval"))
    charts: list[alt.LayerChart | alt.FacetChart] = []
    for name in ("Always-valid (sequential)", "Fixed-horizon"):
        part = frame.filter(pl.col("interval") == name).to_pandas()
        base = alt.Chart(part).encode(
            x=alt.X("look_date:T", title="look (day, UTC)"))
        colour = alt.Color("variant:N", title="variant",
                           scale=F.color_scale("variant", variants[1:]))
        band = base.mark_area(opacity=0.2).encode(
            y=alt.Y("lo:Q", title="relative lift", axis=alt.Axis(format="+%"),
                    scale=alt.Scale(domain=[-CLIP, CLIP])), y2="hi:Q", color=colour)
        line = base.mark_line(point=True).encode(
            y="shown_lift:Q", color=colour, tooltip=[alt.Tooltip("look_date:T", title="look"),
                                 alt.Tooltip("variant:N"),
                                 alt.Tooltip("lift:Q", title="lift", format="+.1%"),
                                 alt.Tooltip("ci_low:Q", title="low", format="+.1%"),
                                 alt.Tooltip("ci_high:Q", title="high", format="+.1%"),
                                 alt.Tooltip("users:Q", title="users")])
        zero = alt.Chart().mark_rule(color="#6b7280").encode(y=alt.datum(0))
        charts.append(alt.layer(band, line, zero, title=f"{name} 95 % interval of the lift"))
    left, right = st.columns(2)
    left.altair_chart(charts[0].properties(height=280), width="stretch")
    right.altair_chart(charts[1].properties(height=280), width="stretch")
    st.caption(f"Intervals wider than ±{CLIP:.0%} (the first looks) are cut at the chart's edge. "
               + PEEKING)

checks = decision.get("checks") or []
if checks:
    st.subheader("Guardrails")
    st.caption("All must pass before the sensor promotes a winner.")
    st.dataframe([{"Check": c["name"], "Result": "passed" if c["passed"] else "FAILED",
                   "Detail": c["detail"]} for c in checks], hide_index=True, width="stretch")
