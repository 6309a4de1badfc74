"""Reads through the API with a per-organization cache, API errors shown with a retry."""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from dashboards.client import ApiError, LodestoneClient
from dashboards.session import Viewer

#: Seconds a read is reused; live reads (the last 30 minutes) much less.
TTL_S = 60
LIVE_TTL_S = 2


def _fingerprint(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=500)
def _get(base_url: str, org_id: str, who: str, path: str,
         params: tuple[tuple[str, str], ...], _credential: str) -> Any:
    # The key is (base_url, org_id, who = credential fingerprint, path, params): two
    # organizations, or two people with different permissions, never share an entry.
    return LodestoneClient(base_url, _credential).get(path, dict(params))


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False, max_entries=200)
def _get_live(base_url: str, org_id: str, who: str, path: str,
              params: tuple[tuple[str, str], ...], _credential: str) -> Any:
    return LodestoneClient(base_url, _credential).get(path, dict(params))


def fetch(viewer: Viewer, path: str, live: bool = False, **params: Any) -> Any:
    """``GET path`` as ``viewer`` (cached); raises ApiError."""
    items = tuple(sorted((k, str(v)) for k, v in params.items() if v not in (None, "")))
    fn = _get_live if live else _get
    return fn(viewer.base_url, viewer.org_id, _fingerprint(viewer.credential), path, items,
              viewer.credential)


def get(viewer: Viewer, path: str, live: bool = False, **params: Any) -> Any:
    """``GET path``, or the API's message with a Retry button and the page stopped."""
    try:
        return fetch(viewer, path, live=live, **params)
    except ApiError as exc:
        show_error(exc, key=f"retry:{path}")
        st.stop()


def show_error(exc: ApiError, key: str = "retry") -> None:
    what = "The API could not be reached" if exc.status == 0 else "The API refused the request"
    st.error(f"{what}: {exc.message}")
    if st.button("Retry", key=key):
        clear()
        st.rerun()


def clear() -> None:
    """Forget cached reads (after an action, or on Retry)."""
    _get.clear()
    _get_live.clear()


def act(viewer: Viewer, path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """``POST path`` as ``viewer``; the cache is cleared so the page shows the change at once."""
    result = viewer.client.post(path, body, **kwargs)
    clear()
    return result
