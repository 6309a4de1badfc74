"""How numbers look and which colour a variant or channel gets, the same on every page."""

from __future__ import annotations

import math
from typing import Any

import altair as alt

from app_api.metrics import BY_NAME

#: Fixed colours: a variant or a channel is the same colour on every chart.
VARIANT_COLORS = {"": "#6b7280", "(no test)": "#6b7280", "A": "#2563eb", "B": "#f97316", "C": "#16a34a", "D": "#9333ea",
                  "E": "#dc2626", "F": "#0891b2"}
CHANNEL_COLORS = {
    "direct": "#6b7280", "organic_search": "#16a34a", "paid_search": "#2563eb",
    "organic_social": "#db2777", "paid_social": "#9333ea", "email": "#f59e0b",
    "referral": "#0891b2", "display": "#dc2626", "affiliates": "#84cc16",
    "organic_video": "#f97316", "paid_video": "#7c3aed", "cross_network": "#0f766e",
    "paid_shopping": "#be123c", "organic_shopping": "#65a30d", "paid_other": "#475569",
    "audio": "#a16207", "sms": "#0e7490", "mobile_push": "#4338ca", "unassigned": "#9ca3af",
}
#: The seven attribution models in the order the docs list them, with a readable name.
MODELS = {"first_touch": "First touch", "last_touch": "Last non-direct touch",
          "linear": "Linear", "time_decay": "Time decay (7-day half-life)",
          "position_based": "Position-based 40/20/40", "markov": "Data-driven (Markov)",
          "shapley": "Shapley"}
MODEL_COLORS = ["#2563eb", "#0891b2", "#16a34a", "#84cc16", "#f59e0b", "#f97316", "#9333ea"]


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def pct(x: Any, digits: int = 2, signed: bool = False) -> str:
    """0.0931 -> '9.31 %' (None -> '–')."""
    if _missing(x):
        return "–"
    return f"{float(x) * 100:{'+' if signed else ''}.{digits}f} %"


def money(x: Any, currency: str = "$") -> str:
    if _missing(x):
        return "–"
    return f"{currency}{float(x):,.0f}" if abs(float(x)) >= 100 else f"{currency}{float(x):,.2f}"


def count(x: Any) -> str:
    return "–" if _missing(x) else f"{int(round(float(x))):,}"


def value(metric: str, x: Any) -> str:
    """A metric's value in its unit."""
    unit = BY_NAME[metric].unit
    return pct(x) if unit == "ratio" else money(x) if unit == "money" else count(x)


def label(metric: str) -> str:
    return BY_NAME[metric].label


def help(metric: str) -> str:
    """The metric's one-line definition (tooltips and captions)."""
    return BY_NAME[metric].definition


def color_scale(kind: str, domain: list[str]) -> alt.Scale:
    palette = VARIANT_COLORS if kind == "variant" else CHANNEL_COLORS
    fallback = "#64748b"
    return alt.Scale(domain=domain, range=[palette.get(d, fallback) for d in domain])


def model_scale() -> alt.Scale:
    return alt.Scale(domain=list(MODELS.values()), range=MODEL_COLORS)
