"""Multi-touch attribution: conversions credited to each channel by each model."""

from __future__ import annotations

import streamlit as st

from dashboards.common import client_from_sidebar, load

st.set_page_config(page_title="Attribution · Lodestone", page_icon="🧭", layout="wide")
st.title("Attribution")
st.caption("first touch · last non-direct touch · linear · time decay (7-day half-life) · "
           "position-based 40/20/40 · data-driven Markov · Shapley")
frame = load(client_from_sidebar(), "attribution")
if {"channel", "model", "conversions"} <= set(frame.columns):
    pivot = frame.pivot(on="model", index="channel", values="conversions", aggregate_function="sum")
    st.bar_chart(pivot.to_pandas().set_index("channel"))
st.dataframe(frame.to_pandas(), hide_index=True, use_container_width=True)
