"""Funnels: view -> form start -> lead -> confirmed -> purchase per magnet, in step order,
variants side by side (never stacked), with 95 % Wilson intervals."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import filters
from dashboards import format as F
from dashboards.data import get
from dashboards.page import magnet_names, viewer

STEPS = ["view", "form_start", "lead", "confirmed", "purchase"]
STEP_LABELS = {"view": "1 view", "form_start": "2 form start", "lead": "3 lead",
               "confirmed": "4 confirmed", "purchase": "5 purchase"}

v = viewer()
st.title("Funnels")
st.caption("A visitor reaches a step at its first event at or after reaching the previous step "
           "(a strict, ordered funnel; all time, from the `funnels` roll-up). The variant is the "
           "one the visitor was first shown.")
names = magnet_names(v)
rows = get(v, "/v1/stats/funnels")["rows"]
if not rows:
    st.info("No funnel yet: publish a magnet and send traffic, then the hourly roll-up "
            "(`lodestone materialize funnels`) fills this page.")
    st.stop()
present = sorted({r["magnet_id"] for r in rows}, key=lambda m: names.get(m, m))
magnet = filters.choose("Magnet", "magnet", present, names, allow_all=False) or present[0]
frame = pl.DataFrame([r for r in rows if r["magnet_id"] == magnet], infer_schema_length=None)
frame = frame.with_columns(pl.col("step").replace(STEP_LABELS).alias("step_label"),
                           pl.when(pl.col("variant") == "").then(pl.lit("(no test)"))
                           .otherwise(pl.col("variant")).alias("arm")).sort("step_index", "variant")
arms = frame["arm"].unique(maintain_order=True).to_list()
st.subheader(names.get(magnet, magnet))
chart = alt.Chart(frame.to_pandas(), title="Visitors reaching each step").mark_bar().encode(
    x=alt.X("step_label:N", title="step", sort=[STEP_LABELS[s] for s in STEPS]),
    xOffset=alt.XOffset("arm:N", sort=arms),
    y=alt.Y("visitors:Q", title="visitors"),
    color=alt.Color("arm:N", title="variant", sort=arms, scale=F.color_scale("variant", arms)),
    tooltip=[alt.Tooltip("arm:N", title="variant"), alt.Tooltip("step_label:N", title="step"),
             alt.Tooltip("visitors:Q", title="visitors", format=","),
             alt.Tooltip("overall_rate:Q", title="of viewers", format=".2%"),
             alt.Tooltip("step_rate:Q", title="of previous step", format=".2%")])
st.altair_chart(chart.properties(height=320), width="stretch")


def ci(lo: float | None, hi: float | None) -> str:
    return "–" if lo is None else f"{F.pct(lo)} – {F.pct(hi)}"


st.dataframe([{
    "Variant": r["arm"], "Step": r["step_label"], "Visitors": F.count(r["visitors"]),
    "Of previous step": F.pct(r["step_rate"]) if r["step_index"] > 1 else "–",
    "95 % interval (step)": ci(r["step_ci_low"], r["step_ci_high"]) if r["step_index"] > 1 else "–",
    "Of viewers": F.pct(r["overall_rate"]),
    "95 % interval (of viewers)": ci(r["overall_ci_low"], r["overall_ci_high"]),
    "Median time from previous step": "–" if r["median_seconds_from_previous"] is None
    else f"{r['median_seconds_from_previous'] / 60:,.1f} min",
} for r in frame.sort("variant", "step_index").iter_rows(named=True)],
    hide_index=True, width="stretch")
