"""Shared pieces of the Streamlit pages: the API client from the sidebar, error display."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from dashboards.client import ApiError, LodestoneClient


def client_from_sidebar() -> LodestoneClient:
    """An API client configured in the sidebar (defaults from the environment)."""
    defaults = LodestoneClient()
    with st.sidebar:
        st.header("Connection")
        url = st.text_input("API URL", value=defaults.base_url, key="api_url")
        key = st.text_input("API key", value=defaults.api_key, type="password", key="api_key")
    return LodestoneClient(url, key)


def load(client: LodestoneClient, name: str, **filters: str | None) -> pl.DataFrame:
    """An analytics table as a DataFrame; stops the page with the API's message on error."""
    try:
        payload: dict[str, Any] = client.stats(name, **filters)
    except ApiError as exc:
        st.error(f"The API refused the request: {exc.message}")
        st.stop()
    if not payload["rows"]:
        st.info(f"No `{payload['model']}` data yet: the Dagster assets have not materialized it "
                "(run `lodestone materialize` or wait for the schedule).")
        st.stop()
    return pl.DataFrame(payload["rows"], infer_schema_length=None)
