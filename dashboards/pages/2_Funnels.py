"""Funnels per magnet and variant: view -> form start -> lead -> confirmed -> purchase."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards.common import client_from_sidebar, load

st.set_page_config(page_title="Funnels · Lodestone", page_icon="🔻", layout="wide")
st.title("Funnels")
frame = load(client_from_sidebar(), "funnels")
if "magnet_id" in frame.columns:
    magnet = st.selectbox("Magnet", sorted(frame["magnet_id"].unique().to_list()))
    frame = frame.filter(pl.col("magnet_id") == magnet)
if {"step", "visitors", "variant", "step_index"} <= set(frame.columns):
    chart = frame.sort("step_index").pivot(on="variant", index="step", values="visitors",
                                           aggregate_function="sum")
    st.bar_chart(chart.to_pandas().set_index("step"))
st.dataframe(frame.to_pandas(), hide_index=True, use_container_width=True)
