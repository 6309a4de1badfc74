"""Markdown from a document (templates' plain-text format; also handy for any type)."""

from __future__ import annotations

from content.document import (
    BulletList,
    Callout,
    CallToAction,
    Chart,
    Checklist,
    Document,
    FormField,
    Heading,
    Image,
    Paragraph,
    Quote,
    Stat,
    Table,
)


def _esc(text: str) -> str:
    """Escape Markdown and raw HTML so text stays text when the Markdown is rendered."""
    out = text.replace("\\", "\\\\").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "*_`[]#|":
        out = out.replace(ch, "\\" + ch)
    return out


def render_markdown(doc: Document) -> str:
    lines = [f"# {_esc(doc.title)}", ""]
    if doc.subtitle:
        lines += [f"*{_esc(doc.subtitle)}*", ""]
    if doc.summary:
        lines += [_esc(doc.summary), ""]
    for n, s in enumerate(doc.sections, 1):
        lines += [f"## {n}. {_esc(s.title)}", ""]
        if s.summary:
            lines += [_esc(s.summary), ""]
        for b in s.blocks:
            if isinstance(b, Heading):
                lines += [f"{'#' * (b.level + 1)} {_esc(b.text)}", ""]
            elif isinstance(b, Paragraph):
                lines += [_esc(b.text), ""]
            elif isinstance(b, BulletList):
                lines += [f"{i}. {_esc(x)}" if b.ordered else f"- {_esc(x)}" for i, x in enumerate(b.items, 1)] + [""]
            elif isinstance(b, Checklist):
                lines += ([f"**{_esc(b.title)}**", ""] if b.title else []) + [
                    f"- [ ] {_esc(i.text)}" + (f" — {_esc(i.detail)}" if i.detail else "") for i in b.items] + [""]
            elif isinstance(b, Callout):
                lines += [f"> **{_esc(b.title or b.tone.capitalize())}:** {_esc(b.text)}", ""]
            elif isinstance(b, Quote):
                lines += [f"> {_esc(b.text)}"] + ([f"> — {_esc(b.attribution)}"] if b.attribution else []) + [""]
            elif isinstance(b, Table):
                lines += ([f"**{_esc(b.caption)}**", ""] if b.caption else []) + [
                    "| " + " | ".join(_esc(c) for c in b.columns) + " |", "|" + " --- |" * len(b.columns)]
                lines += ["| " + " | ".join(_esc(c) or " " for c in row) + " |" for row in b.rows] + [""]
            elif isinstance(b, Chart):
                lines += [f"**{_esc(b.title or 'Chart')}**", "", "| | " + " | ".join(_esc(x) for x in b.labels) + " |",
                          "|" + " --- |" * (len(b.labels) + 1)]
                lines += [f"| {_esc(sr.name)} | " + " | ".join(f"{v:g}{_esc(b.unit)}" for v in sr.values) + " |"
                          for sr in b.series] + [""]
            elif isinstance(b, Stat):
                lines += [f"**{_esc(b.value)}** {_esc(b.label)}", ""]
            elif isinstance(b, Image):
                lines += [f"*[Image: {_esc(b.alt)}]*", ""]
            elif isinstance(b, CallToAction):
                lines += [f"**{_esc(b.heading)}** {_esc(b.text)} {b.url}".rstrip(), ""]
            elif isinstance(b, FormField):
                blank = "[ ]" if b.kind == "checkbox" else "_" * 30
                lines += [f"**{_esc(b.label)}:** {blank}", ""]
    if doc.cta:
        lines += ["---", "", f"**{_esc(doc.cta.heading)}** {_esc(doc.cta.text)}", ""]
        if doc.cta.url:
            lines += [f"[{_esc(doc.cta.button)}]({doc.cta.url})", ""]
    return "\n".join(lines).rstrip() + "\n"
