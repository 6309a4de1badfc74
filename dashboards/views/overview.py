"""Overview: the last 30 minutes (refreshing every 10 s), today, and the period against the
previous one; top magnets, channels, landing pages and countries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import altair as alt
import polars as pl
import streamlit as st

from dashboards import filters
from dashboards import format as F
from dashboards.data import get
from dashboards.page import magnet_names, viewer

HEADLINE = ("visitors", "magnet_views", "leads", "confirmed_leads", "conversion_rate", "revenue")

v = viewer()
st.title("Overview")
start, end = filters.period()
names = magnet_names(v)
magnet = filters.choose("Magnet", "magnet", sorted(names, key=lambda m: names[m]), names)
device = filters.choose("Device", "device", ["desktop", "mobile", "tablet"])
params: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat(),
                          "magnet_id": magnet, "device": device}


def metric_row(metrics: dict[str, float], deltas: dict[str, float | None] | None = None) -> None:
    for col, name in zip(st.columns(len(HEADLINE)), HEADLINE, strict=True):
        d = (deltas or {}).get(name)
        help_text = F.help(name)
        if deltas is not None and d is None:
            help_text += " No change shown: the previous period has none."
        col.metric(F.label(name), F.value(name, metrics[name]),
                   delta=None if d is None else F.pct(d, 1, signed=True), help=help_text)


@st.fragment(run_every=10)
def live() -> None:
    data = get(v, "/v1/overview/summary", live=True, **params)
    now = data["windows"]["last_30_minutes"]
    st.subheader("Right now: the last 30 minutes")
    st.caption(f"Refreshes every 10 s · as of {data['as_of'][11:19]} UTC")
    metric_row(now["metrics"])
    series = get(v, "/v1/overview/timeseries", live=True, granularity="minute",
                 magnet_id=magnet, device=device)
    frame = pl.DataFrame(series["rows"], infer_schema_length=None).with_columns(pl.col("bucket").str.to_datetime(time_zone="UTC"))
    if frame.is_empty() or frame["visitors"].sum() == 0:
        st.info("No events in the last 30 minutes. Live traffic appears here within seconds "
                "of reaching the collector (`lodestone up` sends a trickle every 15 s).")
        return
    chart = alt.Chart(frame.to_pandas(), title="Visitors per minute, last 30 minutes").mark_bar(
        color="#2563eb").encode(
        x=alt.X("bucket:T", title="minute (UTC)"),
        y=alt.Y("visitors:Q", title="visitors", axis=alt.Axis(tickMinStep=1)),
        tooltip=[alt.Tooltip("bucket:T", title="minute", format="%H:%M"),
                 alt.Tooltip("visitors:Q", title="visitors"),
                 alt.Tooltip("magnet_views:Q", title="magnet views"),
                 alt.Tooltip("leads:Q", title="leads")])
    st.altair_chart(chart.properties(height=200), width="stretch")


live()

summary = get(v, "/v1/overview/summary", **params)
st.subheader("Today (UTC)")
metric_row(summary["windows"]["today"]["metrics"])
period_m = summary["windows"]["period"]["metrics"]
prev = summary["windows"]["previous_period"]
st.subheader(f"{start:%d %b %Y} – {end:%d %b %Y}")
st.caption(f"Change against the previous {(end - start).days + 1} days "
           f"({prev['start'][:10]} – {(dt.date.fromisoformat(prev['end'][:10]) - dt.timedelta(days=1))}).")
metric_row(period_m, summary["deltas"])
if not period_m["visitors"]:
    st.info("No events in this period. Install the snippet on your site (`<script src=\".../s.js\">`) "
            "or run `lodestone simulate` to send demo traffic, then come back.")
    st.stop()

series = get(v, "/v1/overview/timeseries", granularity="day", **params)
days = pl.DataFrame(series["rows"], infer_schema_length=None).with_columns(pl.col("bucket").str.to_datetime(time_zone="UTC"))
long = days.unpivot(index="bucket", on=["visitors", "magnet_views", "leads"],
                    variable_name="metric", value_name="n").with_columns(
    pl.col("metric").replace({m: F.label(m) for m in ("visitors", "magnet_views", "leads")}))
st.altair_chart(alt.Chart(long.to_pandas(), title="Per day").mark_line(point=True).encode(
    x=alt.X("bucket:T", title="day (UTC)"),
    y=alt.Y("n:Q", title="count per day"),
    color=alt.Color("metric:N", title=None),
    tooltip=[alt.Tooltip("bucket:T", title="day"), "metric:N", alt.Tooltip("n:Q", title="count")],
).properties(height=260), width="stretch")
st.caption("Visitors per day are distinct within each day; a visitor of several days counts "
           "once in the period's total above, so the days do not add up to it.")

st.subheader("Top of the period")
COLS = ("visitors", "magnet_views", "leads", "confirmed_leads", "conversion_rate", "revenue")


def top_table(dimension: str, title: str) -> None:
    extra = {k: val for k, val in params.items() if not (dimension == "channel" and k == "magnet_id")}
    rows = get(v, "/v1/overview/top", dimension=dimension, limit=10, **extra)["rows"]
    if not rows:
        st.caption(f"No {title.lower()} yet.")
        return
    shown = [{title: r.get("name", r["key"]) or "(none)",
              **{F.label(c): F.value(c, r[c]) for c in COLS}} for r in rows]
    st.dataframe(shown, hide_index=True, width="stretch")


left, right = st.columns(2)
with left:
    st.markdown("**Magnets**")
    top_table("magnet", "Magnet")
    st.markdown("**Landing pages** (first page of a session, without query string)")
    top_table("landing_page", "Landing page")
with right:
    st.markdown("**Channels** (GA4 channel of the session; from the hourly sessions roll-up)")
    top_table("channel", "Channel")
    st.markdown("**Countries**")
    top_table("country", "Country")
with st.expander("What the numbers mean"):
    for name in HEADLINE:
        st.markdown(f"**{F.label(name)}**: {F.help(name)}")
