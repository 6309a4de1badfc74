"""HTML from a document: one Jinja environment (autoescape on), the library's templates, the brand kit."""

from __future__ import annotations

import functools
import hashlib
import math
import re
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup

from content.brand import BrandKit, mix
from content.document import Chart, Document, MagnetType
from content.library import TEMPLATES_DIR, TemplateInfo
from content.render.svg import chart_svg, infographic_layout

KICKER = {MagnetType.EBOOK: "Free guide", MagnetType.CHECKLIST: "Checklist", MagnetType.TEMPLATE: "Template",
          MagnetType.CALCULATOR: "Calculator", MagnetType.INFOGRAPHIC: "Infographic"}
TYPE_CSS = {MagnetType.EBOOK: ("base.css", "ebook.css"), MagnetType.CHECKLIST: ("base.css", "page.css", "checklist.css"),
            MagnetType.TEMPLATE: ("base.css", "page.css", "template.css"),
            MagnetType.CALCULATOR: ("base.css", "page.css", "calculator.css"), MagnetType.INFOGRAPHIC: ("base.css",)}
INFOGRAPHIC_WIDTH = 1080


def colors(brand: BrandKit) -> dict[str, str]:
    c = brand.colors
    return {"primary": c.primary, "on_primary": c.on_primary, "accent": c.accent, "text": c.text,
            "background": c.background, "surface": c.surface, "muted": mix(c.text, c.background, 0.25),
            "line": mix(c.text, c.background, 0.82), "primary_dark": mix(c.primary, "#000000", 0.25),
            "accent_soft": mix(c.accent, c.background, 0.86)}


@pass_context
def _chart_filter(ctx: Any, chart: Chart) -> Markup:
    return chart_svg(chart, ctx["c"])


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() and math.isfinite(value) else repr(float(value))


def _safe_src(src: str) -> str:
    return src if re.match(r"^(data:image/(png|jpeg|gif|webp|svg\+xml);base64,|https?://|[\w./-]+$)", src, re.I) else ""


@functools.cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(default=True,
                      default_for_string=True, enabled_extensions=("html", "svg", "j2", "xml")),
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.filters.update(chart_svg=_chart_filter, num=_num, safe_src=_safe_src)
    return env


@functools.cache
def _asset(name: str) -> str:
    return (TEMPLATES_DIR / "_base" / name).read_text(encoding="utf-8")


def stylesheet(info: TemplateInfo, brand: BrandKit, fonts: bool = False) -> str:
    """The whole CSS of a template with a brand kit (``fonts=True`` adds @font-face for PDFs)."""
    parts = [brand.font_faces()] if fonts else []
    parts.append(brand.css_variables())
    parts += [_asset(n) for n in TYPE_CSS[info.type]]
    parts.append(info.css())
    return "\n".join(parts)


def store_key(doc: Document) -> str:
    return hashlib.sha256(doc.model_dump_json().encode()).hexdigest()[:16]


def render_html(doc: Document, info: TemplateInfo, brand: BrandKit, *, inline_css: bool = True,
                interactive: bool = True) -> str:
    """The HTML of ``doc`` in template ``info``; ``inline_css=False`` leaves CSS to the caller (PDF)."""
    layout = info.layout
    ctx: dict[str, Any] = {
        "doc": doc, "brand": brand, "c": colors(brand), "kicker": layout.get("kicker", KICKER[doc.type]),
        "layout_classes": " ".join(f"{k}-{v}" for k, v in sorted(layout.items()) if k != "kicker"),
        "css": Markup(stylesheet(info, brand)) if inline_css else "", "interactive": interactive,
        "store_key": store_key(doc),
    }
    if doc.type == MagnetType.CHECKLIST:
        ctx["checklist_js"] = Markup(_asset("checklist.js"))
    if doc.type == MagnetType.CALCULATOR:
        ctx["formula_js"] = Markup(_asset("formula.js"))
        ctx["calculator_js"] = Markup(_asset("calculator.js"))
        assert doc.calculator is not None
        ctx["spec"] = doc.calculator.model_dump(mode="json")
        ctx["initial"] = initial_results(doc)
    return environment().get_template(info.entry).render(ctx)


def format_value(value: float, fmt: str, decimals: int, currency: str) -> str:
    """A result as the calculator page shows it (the page's script formats the same way)."""
    digits = 0 if fmt == "integer" else decimals
    text = f"{abs(value):,.{digits}f}"
    sign = "-" if value < 0 and text.strip("0.,") else ""
    if fmt == "integer":
        return sign + text
    if fmt == "currency":
        return sign + {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, currency + " ") + text
    return sign + text + ("%" if fmt == "percent" else " months" if fmt == "months" else "")


def initial_results(doc: Document) -> dict[str, dict[str, str]]:
    """Outputs for the default inputs, written into the page so it reads right before (or without) scripts."""
    from content.formula import FormulaError, run_calculator

    assert doc.calculator is not None
    calc = doc.calculator
    values = run_calculator(calc)
    out: dict[str, dict[str, str]] = {}
    for o in calc.outputs:
        v = values[o.name]
        out[o.name] = ({"text": "—", "error": str(v)} if isinstance(v, FormulaError)
                       else {"text": format_value(v, o.format, o.decimals, calc.currency), "error": ""})
    return out


def render_svg(doc: Document, info: TemplateInfo, brand: BrandKit) -> str:
    """The infographic SVG (text as ``<text>``, charts from data)."""
    from content.fonts import get_font

    c = colors(brand)
    ctx = {"doc": doc, "brand": brand, "c": c, "W": INFOGRAPHIC_WIDTH,
           "kicker": info.layout.get("kicker", KICKER[doc.type]),
           "L": infographic_layout(doc, INFOGRAPHIC_WIDTH, c),
           "heading_font": get_font(brand.fonts.heading).stack().replace('"', "'"),
           "body_font": get_font(brand.fonts.body).stack().replace('"', "'")}
    return environment().get_template(info.entry).render(ctx)
