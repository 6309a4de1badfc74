"""What every page starts with: the signed-in viewer."""

from __future__ import annotations

import streamlit as st

from dashboards.session import Viewer, current


def viewer() -> Viewer:
    """The signed-in caller (app.py shows the sign-in form before any page runs)."""
    found = current()
    if found is None:  # a page opened without app.py (should not happen): say what to do
        st.warning("Sign in first: open the dashboards' home page.")
        st.stop()
    return found


def magnet_names(v: Viewer) -> dict[str, str]:
    """id -> name of the organization's magnets (from GET /v1/magnets)."""
    from dashboards.data import get

    page = get(v, "/v1/magnets", limit=200)
    return {m["id"]: m["name"] for m in page["data"]}
