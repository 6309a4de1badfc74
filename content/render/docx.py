"""DOCX from a document through python-docx: headings in the brand colour, fill-in fields as blanks."""

from __future__ import annotations

import io

from docx import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.shared import Pt, RGBColor

from content.brand import BrandKit
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


def _rgb(hex_color: str) -> RGBColor:
    return RGBColor.from_string(hex_color[1:].upper())


def render_docx(doc: Document, brand: BrandKit) -> bytes:
    d = DocxDocument()
    styles = d.styles
    body_font = "DejaVu Sans" if "Sans" in brand.fonts.body else "DejaVu Serif"
    styles["Normal"].font.name = body_font
    styles["Normal"].font.size = Pt(10.5)
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3"):
        styles[name].font.color.rgb = _rgb(brand.colors.primary)
    d.core_properties.title = doc.title
    d.core_properties.author = brand.company or doc.author
    d.add_heading(doc.title, level=0)
    if doc.subtitle:
        d.add_paragraph(doc.subtitle).runs[0].italic = True
    if doc.summary:
        d.add_paragraph(doc.summary)
    for n, s in enumerate(doc.sections, 1):
        d.add_heading(f"{n}. {s.title}", level=1)
        if s.summary:
            d.add_paragraph(s.summary)
        fields = [b for b in s.blocks if isinstance(b, FormField)]
        if fields:
            table = d.add_table(rows=0, cols=2)
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            for f in fields:
                row = table.add_row().cells
                row[0].text = f.label + (" *" if f.required else "")
                row[0].paragraphs[0].runs[0].bold = True
                row[1].text = "☐" if f.kind == "checkbox" else ""
                if f.kind == "textarea":
                    row[1].add_paragraph("")
                    row[1].add_paragraph("")
            d.add_paragraph("")
        for b in s.blocks:
            if isinstance(b, Heading):
                d.add_heading(b.text, level=min(b.level, 3))
            elif isinstance(b, Paragraph):
                d.add_paragraph(b.text)
            elif isinstance(b, BulletList):
                for item in b.items:
                    d.add_paragraph(item, style="List Number" if b.ordered else "List Bullet")
            elif isinstance(b, Checklist):
                if b.title:
                    d.add_heading(b.title, level=3)
                for it in b.items:
                    d.add_paragraph(f"☐  {it.text}" + (f" — {it.detail}" if it.detail else ""))
            elif isinstance(b, Callout):
                p = d.add_paragraph()
                p.add_run(f"{b.title or b.tone.capitalize()}: ").bold = True
                p.add_run(b.text)
            elif isinstance(b, Quote):
                p = d.add_paragraph(b.text, style="Intense Quote" if b.pull else "Quote")
                if b.attribution:
                    d.add_paragraph(f"— {b.attribution}")
            elif isinstance(b, Table | Chart):
                cols = b.columns if isinstance(b, Table) else ["", *b.labels]
                rows = b.rows if isinstance(b, Table) else [[sr.name, *(f"{v:g}{b.unit}" for v in sr.values)] for sr in b.series]
                caption = b.caption if isinstance(b, Table) else b.title
                if caption:
                    d.add_paragraph(caption).runs[0].bold = True
                t = d.add_table(rows=1, cols=len(cols))
                t.style = "Light Grid Accent 1"
                for cell, text in zip(t.rows[0].cells, cols, strict=True):
                    cell.text = text
                for r in rows:
                    for cell, text in zip(t.add_row().cells, r, strict=True):
                        cell.text = text
                d.add_paragraph("")
            elif isinstance(b, Stat):
                p = d.add_paragraph()
                p.add_run(b.value + "  ").bold = True
                p.add_run(b.label)
            elif isinstance(b, Image):
                d.add_paragraph(f"[Image: {b.alt}]")
            elif isinstance(b, CallToAction):
                d.add_paragraph(f"{b.heading} {b.text} {b.url}".strip())
    if doc.cta:
        d.add_heading(doc.cta.heading, level=1)
        if doc.cta.text:
            d.add_paragraph(doc.cta.text)
        if doc.cta.url:
            d.add_paragraph(f"{doc.cta.button}: {doc.cta.url}")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()
