"""The compliance report as a PDF: Jinja2 (autoescape) -> HTML -> WeasyPrint.

Rendering goes through content.render.pdf, whose fetcher serves local template and font
files only: nothing in a report (an activity's name, a webhook's description) can make the
renderer fetch a URL.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

from content.render.pdf import render_pdf

TEMPLATES = Path(__file__).resolve().parent / "templates"
BASES = {"consent": "Consent — art. 6(1)(a)", "contract": "Contract — art. 6(1)(b)",
         "legal_obligation": "Legal obligation — art. 6(1)(c)",
         "vital_interests": "Vital interests — art. 6(1)(d)",
         "public_task": "Public task — art. 6(1)(e)",
         "legitimate_interests": "Legitimate interests — art. 6(1)(f)"}
KINDS = {"export": "Access / portability (export)", "erase": "Erasure"}


@functools.cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined)


def duration(seconds: float | None) -> str:
    """``93784`` -> ``1 d 2 h`` (the two largest units); ``90`` -> ``1 min 30 s``."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:g} s"
    whole = round(seconds)
    units = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
    parts: list[tuple[int, str]] = []
    for name, size in units:
        n, whole = divmod(whole, size)
        if n or parts:
            parts.append((n, name))
    return " ".join(f"{n} {name}" for n, name in parts[:2] if n)


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def html(report: dict[str, Any]) -> str:
    """The report's HTML (every value escaped)."""
    by_kind = report["requests"]["by_kind"].values()
    totals = {"shown": sum(p["shown"] for p in report["purposes"]),
              "received": sum(k["received"] for k in by_kind),
              "completed": sum(k["completed"] for k in by_kind)}
    return _env().get_template("compliance_report.html.j2").render(
        r=report, totals=totals, bases=BASES, kinds=KINDS, dur=duration, pct=percent,
        yn=lambda v: "yes" if v else "no")


def pdf(report: dict[str, Any]) -> bytes:
    """The report as a PDF document (A4)."""
    css = (TEMPLATES / "compliance_report.css").read_text(encoding="utf-8")
    return render_pdf(html(report), css)
