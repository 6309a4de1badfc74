"""``make previews``: page 1 of every template, rendered from its sample brief, plus one contact sheet.

Run as ``python -m content.previews [--out previews]``. PDFs are rasterised with poppler's
``pdftoppm``; a calculator (HTML only) is printed to PDF first, with its default results.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw

from content.build import build
from content.document import Design, MagnetType
from content.library import TemplateInfo, list_templates
from content.offline import generate_from
from content.render.html import render_html, stylesheet
from content.render.pdf import pdf_to_png, render_pdf

THUMB_WIDTH = 300


def preview_png(info: TemplateInfo, dpi: int = 60) -> bytes:
    """Page 1 of ``info`` rendered from its sample brief, as PNG."""
    sample = info.sample or {"topic": "Growing faster with less effort"}
    doc = generate_from(info.type.value, sample["topic"], info.industry.value, sample.get("audience", ""),
                        chapters=3)
    if info.type == MagnetType.CALCULATOR:
        brand = info.default_brand()
        html = render_html(doc, info, brand, inline_css=False, interactive=False)
        pdf = render_pdf(html, stylesheet(info, brand, fonts=True))
    else:
        result = build(doc, Design(template=info.name), formats=["pdf"])
        pdf = result.artifacts[0].data
    return pdf_to_png(pdf, dpi=dpi)


def contact_sheet(images: list[tuple[str, Path]], columns: int = 5) -> Image.Image:
    thumbs = []
    for name, path in images:
        with Image.open(path) as src:
            im = src.convert("RGB")
        h = int(im.height * THUMB_WIDTH / im.width)
        thumbs.append((name, im.resize((THUMB_WIDTH, min(h, int(THUMB_WIDTH * 1.42))), Image.Resampling.LANCZOS)))
    cell_h = int(THUMB_WIDTH * 1.42) + 30
    rows = -(-len(thumbs) // columns)
    sheet = Image.new("RGB", (columns * (THUMB_WIDTH + 20) + 20, rows * (cell_h + 20) + 20), "#e5e7eb")
    draw = ImageDraw.Draw(sheet)
    for i, (name, thumb) in enumerate(thumbs):
        r, c = divmod(i, columns)
        x, y = 20 + c * (THUMB_WIDTH + 20), 20 + r * (cell_h + 20)
        sheet.paste(thumb, (x, y))
        draw.text((x, y + int(THUMB_WIDTH * 1.42) + 8), name, fill="#111827")
    return sheet


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("previews"))
    parser.add_argument("--only", nargs="*", default=None, help="template names")
    args = parser.parse_args(argv)
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    args.out.mkdir(parents=True, exist_ok=True)
    done: list[tuple[str, Path]] = []
    by_type = sorted(list_templates(), key=lambda t: (list(MagnetType).index(t.type), t.industry.value))
    for info in by_type:
        if args.only and info.name not in args.only:
            continue
        t0 = time.perf_counter()
        path = info.preview_path(args.out)
        path.write_bytes(preview_png(info))
        done.append((info.name, path))
        _out(f"{path}  {time.perf_counter() - t0:.1f}s")
    sheet = args.out / "contact-sheet.png"
    contact_sheet(done, columns=6).save(sheet)
    _out(f"{sheet}: {len(done)} templates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
