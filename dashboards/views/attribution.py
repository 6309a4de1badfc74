"""Attribution: the seven models side by side (grouped bars and a table), the top converting
paths and the Markov removal effects."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import format as F
from dashboards.data import get
from dashboards.page import viewer

v = viewer()
st.title("Attribution")
st.caption("A conversion is a lead; its value is its magnet's **lead value** (what a lead is "
           "expected to be worth, not money received; see Overview for revenue). Each model "
           "splits the same leads across channels differently, so compare models side by side; "
           "never add them up.")
rows = get(v, "/v1/stats/attribution")["rows"]
if not rows:
    st.info("No attribution yet: it needs leads and the hourly roll-up "
            "(`lodestone materialize attribution`).")
    st.stop()
frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(
    pl.col("model").replace(F.MODELS).alias("model_name"))
measure = st.radio("Credit", ["Leads", "Lead value"], horizontal=True, key="credit")
col = "conversions" if measure == "Leads" else "value"
order = (frame.group_by("channel").agg(pl.col(col).mean()).sort(col, descending=True)["channel"]
         .to_list())
chart = alt.Chart(frame.to_pandas(), title=f"{measure} credited to each channel, by model").mark_bar().encode(
    x=alt.X("channel:N", title="channel (GA4)", sort=order),
    xOffset=alt.XOffset("model_name:N", sort=list(F.MODELS.values())),
    y=alt.Y(f"{col}:Q", title="leads credited" if col == "conversions" else "lead value credited ($)"),
    color=alt.Color("model_name:N", title="model", scale=F.model_scale()),
    tooltip=[alt.Tooltip("channel:N"), alt.Tooltip("model_name:N", title="model"),
             alt.Tooltip(f"{col}:Q", title=measure.lower(), format=",.1f" if col == "conversions" else "$,.0f")])
st.altair_chart(chart.properties(height=340), width="stretch")
table = frame.pivot(on="model", index="channel", values=col, aggregate_function="sum")
shown = []
for r in table.iter_rows(named=True):
    cells = {F.MODELS[m]: (f"{r[m]:,.1f}" if col == "conversions" else F.money(r[m]))
             for m in F.MODELS if m in r}
    shown.append({"Channel": r["channel"], **cells})
shown.sort(key=lambda r: order.index(r["Channel"]) if r["Channel"] in order else 99)
st.dataframe(shown, hide_index=True, width="stretch")

left, right = st.columns(2)
with left:
    st.subheader("Top converting paths")
    paths = get(v, "/v1/insights/attribution/paths", limit=15)
    if paths["rows"]:
        st.dataframe([{"Path": p["path"], "Leads": F.count(p["conversions"]),
                       "Share of leads": F.pct(p["conversion_share"], 1),
                       "Journeys converting": F.pct(p["path_conversion_rate"], 1)}
                      for p in paths["rows"]], hide_index=True, width="stretch")
        st.caption("Channels of the sessions before each lead, in order; "
                   "\"journeys converting\" = leads ÷ (leads + journeys on that path that never opted in).")
with right:
    st.subheader("Markov removal effects")
    effects = get(v, "/v1/insights/attribution/removal-effects")
    if effects["rows"]:
        eff = pl.DataFrame(effects["rows"], infer_schema_length=None)
        st.altair_chart(alt.Chart(eff.to_pandas(), title="Leads lost if the channel disappeared").mark_bar().encode(
            y=alt.Y("channel:N", sort="-x", title="channel"),
            x=alt.X("removal_effect:Q", title="share of leads lost", axis=alt.Axis(format="%")),
            color=alt.Color("channel:N", scale=F.color_scale("channel", eff["channel"].to_list()), legend=None),
            tooltip=[alt.Tooltip("channel:N"), alt.Tooltip("removal_effect:Q", title="removal effect", format=".1%")],
        ).properties(height=260), width="stretch")
        st.caption(f"Baseline chance a journey converts: {F.pct(effects['baseline_conversion_probability'])}. "
                   "Effects overlap (a lead can need two channels), so they add up to more than 100 %; "
                   "the Markov model scales them to the leads.")
