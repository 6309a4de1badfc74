"""Cohorts: retention and value per lead by acquisition week, weighted over the chosen
channels and magnets (cells are disjoint sets of leads, so they are summed, not averaged)."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import filters
from dashboards import format as F
from dashboards.data import get
from dashboards.page import magnet_names, viewer

MEASURES = {
    "Retention rate": ("returned", "leads_observed", ".0%",
                       "leads with a session in that week ÷ leads whose week has begun"),
    "Engaged rate": ("engaged", "leads_observed", ".0%",
                     "leads with an engaged session (≥ 10 s, 2 pages or a key event) in that week"),
    "Cumulative value per lead": ("cumulative_revenue", "leads", "$,.2f",
                                  "purchases of the cohort's leads up to that week ÷ cohort size"),
}

v = viewer()
st.title("Cohorts")
names = magnet_names(v)
rows = get(v, "/v1/stats/cohorts")["rows"]
if not rows:
    st.info("No cohorts yet: they appear once leads come in and the hourly roll-up runs "
            "(`lodestone materialize cohorts`).")
    st.stop()
frame = pl.DataFrame(rows, infer_schema_length=None)
channel = filters.choose("First-touch channel", "channel", sorted(frame["channel"].unique().to_list()))
magnet = filters.choose("Magnet", "magnet", sorted(frame["magnet_id"].unique().to_list(),
                                                   key=lambda m: names.get(m, m)), names)
if channel:
    frame = frame.filter(pl.col("channel") == channel)
if magnet:
    frame = frame.filter(pl.col("magnet_id") == magnet)
measure = st.radio("Measure", list(MEASURES), horizontal=True, key="measure")
num, den, fmt, meaning = MEASURES[measure]
cells = (frame.group_by("cohort_week", "weeks_since")
         .agg(pl.col(num).sum().alias("num"), pl.col(den).sum().alias("den"),
              pl.col("leads").sum().alias("cohort_leads"))
         .with_columns((pl.col("num") / pl.col("den")).alias("value"))
         .filter(pl.col("den") > 0).sort("cohort_week", "weeks_since"))
st.caption(f"**{measure}**: {meaning}. Cells of several channels or magnets are combined by "
           f"summing numerators and denominators (a weighted average).")
heat = alt.Chart(cells.to_pandas(), title=f"{measure} by acquisition week").mark_rect().encode(
    x=alt.X("weeks_since:O", title="weeks since opt-in"),
    y=alt.Y("cohort_week:O", title="acquisition week (Monday, UTC)"),
    color=alt.Color("value:Q", title=measure, scale=alt.Scale(scheme="blues"),
                    legend=alt.Legend(format=fmt)),
    tooltip=[alt.Tooltip("cohort_week:O", title="acquisition week"),
             alt.Tooltip("weeks_since:O", title="weeks since opt-in"),
             alt.Tooltip("value:Q", title=measure, format=fmt),
             alt.Tooltip("den:Q", title="leads observed" if den == "leads_observed" else "leads")])
threshold = float(cells["value"].max() or 0.0) * 0.5  # type: ignore[arg-type]
text = heat.mark_text(fontSize=11).encode(
    text=alt.Text("value:Q", format=fmt),
    color=alt.condition(alt.datum.value > threshold, alt.value("white"), alt.value("#111827")))
st.altair_chart((heat + text).properties(height=320), width="stretch")
sizes = frame.filter(pl.col("weeks_since") == 0).group_by("cohort_week").agg(
    pl.col("leads").sum()).sort("cohort_week")
st.dataframe([{"Acquisition week": str(r["cohort_week"]), "Leads": F.count(r["leads"])}
              for r in sizes.iter_rows(named=True)], hide_index=True)
