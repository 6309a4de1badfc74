"""SVG from data: bar, line and donut charts, and the layout of infographics. Text stays text."""

from __future__ import annotations

import math
import textwrap
from typing import Any

from markupsafe import Markup, escape

from content.document import BulletList, Callout, Chart, Document, Paragraph, Stat

PALETTE_STEPS = (0.0, 0.45, 0.7)


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}".rstrip("0").rstrip(".")


def chart_svg(chart: Chart, colors: dict[str, str], width: int = 640, height: int = 300) -> Markup:
    """An accessible SVG chart (``role="img"`` + title) in the brand's colours."""
    from content.brand import mix

    series_colors = [colors["primary"], colors["accent"], mix(colors["primary"], colors["background"], 0.5),
                     mix(colors["accent"], colors["background"], 0.5), colors["text"], colors["muted"]]
    text, line = colors["text"], colors["line"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{escape(chart.title or "Chart")}" font-size="13" fill="{text}">',
             f"<title>{escape(chart.title or 'Chart')}</title>"]
    if chart.kind == "donut":
        parts.append(_donut(chart, series_colors, width, height, text))
    else:
        parts.append(_axes_chart(chart, series_colors, width, height, text, line))
    parts.append("</svg>")
    return Markup("".join(parts))


def _axes_chart(chart: Chart, colors: list[str], width: int, height: int, text: str, line: str) -> str:
    left, right, top, bottom = 56, 16, 34 if len(chart.series) > 1 else 14, 34
    values = [v for s in chart.series for v in s.values]
    lo, hi = min(0.0, min(values)), max(values)
    if hi == lo:
        hi = lo + 1
    step = 10 ** math.floor(math.log10((hi - lo) / 4 or 1))
    for mult in (1, 2, 2.5, 5, 10):
        if (hi - lo) / (step * mult) <= 5:
            step *= mult
            break
    hi = math.ceil(hi / step) * step
    lo = math.floor(lo / step) * step
    pw, ph = width - left - right, height - top - bottom

    def y(v: float) -> float:
        return top + ph - (v - lo) / (hi - lo) * ph

    out = []
    tick = lo
    while tick <= hi + step / 2:
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="{line}"/>'
                   f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{escape(_fmt(tick))}{escape(chart.unit)}</text>')
        tick += step
    n, k = len(chart.labels), len(chart.series)
    band = pw / n
    for i, label in enumerate(chart.labels):
        out.append(f'<text x="{left + band * (i + .5):.1f}" y="{height - 12}" text-anchor="middle">{escape(label)}</text>')
    for si, s in enumerate(chart.series):
        color = colors[si % len(colors)]
        if chart.kind == "bar":
            bw = band * 0.7 / k
            for i, v in enumerate(s.values):
                x = left + band * i + band * 0.15 + bw * si
                y0, y1 = sorted((y(0 if lo <= 0 <= hi else lo), y(v)))
                out.append(f'<rect x="{x:.1f}" y="{y0:.1f}" width="{bw - 2:.1f}" height="{max(y1 - y0, 1):.1f}" rx="2" '
                           f'fill="{color}"><title>{escape(s.name or chart.title)} {escape(label_of(chart, i))}: '
                           f'{escape(_fmt(v))}{escape(chart.unit)}</title></rect>')
        else:
            pts = " ".join(f"{left + band * (i + .5):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
            out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="3" stroke-linejoin="round"/>')
            out += [f'<circle cx="{left + band * (i + .5):.1f}" cy="{y(v):.1f}" r="4" fill="{color}"/>' for i, v in enumerate(s.values)]
    if k > 1:
        x = left
        for si, s in enumerate(chart.series):
            out.append(f'<rect x="{x}" y="6" width="12" height="12" rx="2" fill="{colors[si % len(colors)]}"/>'
                       f'<text x="{x + 18}" y="16">{escape(s.name)}</text>')
            x += 30 + 8 * len(s.name)
    return "".join(out)


def label_of(chart: Chart, i: int) -> str:
    return chart.labels[i]


def _donut(chart: Chart, colors: list[str], width: int, height: int, text: str) -> str:
    values = chart.series[0].values
    total = sum(values) or 1.0
    cx, cy, r = height / 2, height / 2, height / 2 - 14
    out, angle = [], -math.pi / 2
    for i, v in enumerate(values):
        sweep = v / total * 2 * math.pi
        if sweep >= 2 * math.pi - 1e-9:
            out.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="{colors[i % len(colors)]}" stroke-width="36"/>')
        elif sweep > 0:
            x0, y0 = cx + r * math.cos(angle), cy + r * math.sin(angle)
            x1, y1 = cx + r * math.cos(angle + sweep), cy + r * math.sin(angle + sweep)
            large = 1 if sweep > math.pi else 0
            out.append(f'<path d="M{x0:.1f},{y0:.1f} A{r},{r} 0 {large} 1 {x1:.1f},{y1:.1f}" fill="none" '
                       f'stroke="{colors[i % len(colors)]}" stroke-width="36"/>')
        angle += sweep
    for i, (label, v) in enumerate(zip(chart.labels, values, strict=True)):
        yy = 30 + i * 26
        out.append(f'<rect x="{height + 20}" y="{yy - 12}" width="14" height="14" rx="3" fill="{colors[i % len(colors)]}"/>'
                   f'<text x="{height + 42}" y="{yy}">{escape(label)} — {escape(_fmt(v))}{escape(chart.unit)} '
                   f'({v / total * 100:.0f}%)</text>')
    return "".join(out)


def wrap(text: str, chars: int) -> list[str]:
    return textwrap.wrap(text, chars) or [""]


def infographic_layout(doc: Document, width: int, colors: dict[str, str]) -> dict[str, Any]:
    """Positions of every element of an infographic, from the document's sections (top to bottom)."""
    title_lines = wrap(doc.title, 30)[:3]
    subtitle_lines = wrap(doc.subtitle, 62)[:2] if doc.subtitle else []
    subtitle_y = 140 + len(title_lines) * 62 + 6
    header = subtitle_y + len(subtitle_lines) * 34 + 40
    y = header + 80
    items: list[dict[str, Any]] = []
    for section in doc.sections:
        items.append({"kind": "heading", "y": y, "text": section.title})
        y += 56
        stats = [b for b in section.blocks if isinstance(b, Stat)]
        if stats:
            cols = 2
            w = (width - 128 - 32) // cols
            for i, st in enumerate(stats):
                row, col = divmod(i, cols)
                items.append({"kind": "stat", "x": 64 + col * (w + 32), "y": y + row * 212, "w": w, "h": 190,
                              "value": st.value, "lines": wrap(st.label, 34)[:2]})
            y += math.ceil(len(stats) / cols) * 212 + 20
        for b in section.blocks:
            if isinstance(b, Chart):
                svg = chart_svg(b, colors, width=width - 128, height=360)
                items.append({"kind": "chart", "y": y, "svg": svg})
                y += 390
            elif isinstance(b, BulletList):
                for n, item in enumerate(b.items, 1):
                    lines = wrap(item, 60)[:3]
                    items.append({"kind": "step", "y": y, "n": n, "lines": lines})
                    y += max(70, 30 * len(lines) + 36)
            elif isinstance(b, Callout):
                lines = wrap(b.text, 66)[:5]
                h = 100 + 30 * len(lines)
                items.append({"kind": "callout", "y": y, "h": h, "title": b.title or "Note", "lines": lines})
                y += h + 30
            elif isinstance(b, Paragraph):
                lines = wrap(b.text, 70)[:8]
                items.append({"kind": "text", "y": y + 10, "lines": lines})
                y += 32 * len(lines) + 24
        y += 40
    footer = 140
    return {"title_lines": title_lines, "subtitle_lines": subtitle_lines, "subtitle_y": subtitle_y,
            "header": header, "elements": items, "footer": footer, "height": y + footer}
