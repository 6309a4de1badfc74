"""Experiments: status, why a winner is (not yet) promoted, and the always-valid interval."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards.client import ApiError
from dashboards.common import client_from_sidebar, load

st.set_page_config(page_title="Experiments · Lodestone", page_icon="🧪", layout="wide")
st.title("Experiments")
client = client_from_sidebar()
try:
    experiments = client.experiments()
except ApiError as exc:
    st.error(f"The API refused the request: {exc.message}")
    st.stop()
if not experiments:
    st.info("No experiments yet.")
    st.stop()

st.dataframe(
    pl.DataFrame([{"key": e["key"], "name": e["name"], "status": e["status"],
                   "winner": e["winner"] or "", "primary metric": e["primary_metric"]}
                  for e in experiments]).to_pandas(),
    hide_index=True, use_container_width=True,
)
exp = next(e for e in experiments if e["key"] == st.selectbox("Experiment", [e["key"] for e in experiments]))
st.subheader(exp["name"])
st.caption(exp["hypothesis"])
decision = exp.get("decision") or {}
if exp["status"] == "promoted":
    st.success(f"Promoted: variant {exp['winner']} now gets 100 % of the traffic.")
elif decision:
    st.warning("Not promoted yet: " + "; ".join(decision.get("reasons", [])))
checks = decision.get("checks") or decision.get("reason", {}).get("checks") or []
if checks:
    st.markdown("**Guardrails** (all must pass before the sensor promotes a winner)")
    st.dataframe(pl.DataFrame([{"check": c["name"], "passed": "✅" if c["passed"] else "❌",
                                "detail": c["detail"]} for c in checks]).to_pandas(),
                 hide_index=True, use_container_width=True)

looks = load(client, "experiment-results", experiment_key=exp["key"])
treat = looks.filter(pl.col("lift").is_not_null()) if "lift" in looks.columns else looks
if {"look_date", "lift", "ci_low", "ci_high", "method"} <= set(treat.columns) and treat.height:
    st.markdown("**Relative lift over time** — the sequential interval stays valid however often "
                "you look; the fixed-horizon interval does not, which is why peeking at it "
                "inflates false positives (see docs/statistics.md).")
    for method in ("sequential", "fixed"):
        part = treat.filter(pl.col("method") == method).sort("look_date")
        if part.height:
            st.caption(f"{method} interval")
            st.line_chart(part.select("look_date", "lift", "ci_low", "ci_high").to_pandas()
                          .set_index("look_date"))
st.dataframe(looks.to_pandas(), hide_index=True, use_container_width=True)
