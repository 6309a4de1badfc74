"""Lead cohorts by acquisition week: retention and value per lead, week by week."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards.common import client_from_sidebar, load

st.set_page_config(page_title="Cohorts · Lodestone", page_icon="📅", layout="wide")
st.title("Cohorts")
frame = load(client_from_sidebar(), "cohorts")
if "dimension" in frame.columns:
    dim = st.selectbox("Split by", sorted(frame["dimension"].unique().to_list()))
    frame = frame.filter(pl.col("dimension") == dim)
metric = st.selectbox("Metric", [c for c in ("retention_rate", "engaged_rate",
                                             "cumulative_value_per_lead") if c in frame.columns])
if {"cohort_week", "weeks_since"} <= set(frame.columns) and metric:
    cells = frame.group_by("cohort_week", "weeks_since").agg(pl.col(metric).mean())
    heat = alt.Chart(cells.to_pandas()).mark_rect().encode(
        x=alt.X("weeks_since:O", title="weeks since acquisition"),
        y=alt.Y("cohort_week:O", title="acquisition week"),
        color=alt.Color(f"{metric}:Q", title=metric),
        tooltip=["cohort_week", "weeks_since", metric],
    )
    st.altair_chart(heat, use_container_width=True)
st.dataframe(frame.to_pandas(), hide_index=True, use_container_width=True)
