"""Filters that live in the URL (``st.query_params``), so a link reproduces the view."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import streamlit as st

PERIODS = {"Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90}


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    return value if value else None


def _store(name: str, value: str | None) -> None:
    if value in (None, ""):
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != value:
        st.query_params[name] = value


def period() -> tuple[dt.date, dt.date]:
    """The chosen days (``?days=30`` or ``?start=…&end=…``), inclusive, UTC."""
    today = dt.datetime.now(dt.UTC).date()
    start_q, end_q = _param("start"), _param("end")
    try:
        if start_q and end_q:
            start, end = dt.date.fromisoformat(start_q), dt.date.fromisoformat(end_q)
            if start <= end:
                picked = st.sidebar.date_input("Period", (start, end), max_value=today,
                                               key="period_range")
                if isinstance(picked, tuple) and len(picked) == 2:
                    start, end = picked
                    _store("start", start.isoformat())
                    _store("end", end.isoformat())
                return start, end
    except ValueError:
        st.sidebar.warning("The period in the link is not a pair of dates; showing 30 days.")
    labels = list(PERIODS)
    days_q = _param("days")
    current = next((k for k, v in PERIODS.items() if str(v) == days_q), "Last 30 days")
    choice = st.sidebar.selectbox("Period", labels, index=labels.index(current), key="period")
    _store("days", str(PERIODS[choice]))
    for name in ("start", "end"):
        _store(name, None)
    return today - dt.timedelta(days=PERIODS[choice] - 1), today


def choose(label: str, name: str, options: Sequence[str], names: dict[str, str] | None = None,
           allow_all: bool = True, sidebar: bool = True, key: str | None = None) -> str | None:
    """A selectbox bound to ``?name=``; ``None`` means all. Unknown values in the link fall
    back to the first option with a note instead of being silently applied."""
    opts: list[str] = (["__all__"] if allow_all else []) + list(options)
    if not opts:
        return None
    wanted = _param(name)
    if wanted is not None and wanted not in opts:
        (st.sidebar if sidebar else st).caption(f"{label} {wanted!r} from the link does not exist here.")
        wanted = None
    index = opts.index(wanted) if wanted in opts else 0

    def fmt(o: str) -> str:
        return "All" if o == "__all__" else (names or {}).get(o, o or "(no test)")

    where = st.sidebar if sidebar else st
    picked = where.selectbox(label, opts, index=index, format_func=fmt, key=key or f"f_{name}")
    value = None if picked == "__all__" else picked
    _store(name, value)
    return value
