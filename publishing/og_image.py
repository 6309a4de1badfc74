"""The share image of a landing page (Open Graph / Twitter card): 1200x630 PNG.

Made from the built artifact's cover (the newest build's PNG, else page 1 of its PDF)
beside the headline on the brand kit's primary colour; without a build, the brand kit and
headline alone. Rendered once per (build, headline, colours) and kept as a file in
``<data dir>/og/`` (written to a temporary name and renamed), so a crawler's request costs
a file read.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy.orm import Session

from content.artifacts import ArtifactStore
from content.brand_kits import get_record
from kernel.metadata.models import Artifact, LeadMagnet
from publishing.delivery import artifact_for

WIDTH, HEIGHT = 1200, 630
MARGIN = 64
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Look:
    primary: str = "#1d4ed8"
    on_primary: str = "#ffffff"
    accent: str = "#0f766e"


def look_for(session: Session, magnet: LeadMagnet) -> Look:
    """The brand kit's colours, else the magnet's design colour, else the defaults."""
    record = get_record(session, magnet.org_id)
    colors = (record.kit or {}).get("colors") if record is not None else None
    if isinstance(colors, dict):
        picked = {k: colors[k] for k in ("primary", "on_primary", "accent")
                  if isinstance(colors.get(k), str) and HEX.match(colors[k])}
        return Look(**picked)
    design = magnet.design or {}
    primary = design.get("primary_color") or design.get("accent")
    return Look(primary=primary) if isinstance(primary, str) and HEX.match(primary) else Look()


def cover_of(session: Session, magnet: LeadMagnet, store: ArtifactStore) -> bytes | None:
    """The newest build's cover as image bytes (its PNG, else page 1 of its PDF), or None."""
    found = artifact_for(session, magnet)
    if found is None:
        return None
    files = {a.media_type.split(";")[0]: a for a in session.scalars(sa.select(Artifact).where(
        Artifact.org_id == magnet.org_id, Artifact.build_id == found.build_id))}
    if "image/png" in files:
        return store.read(files["image/png"].sha256)
    if "application/pdf" in files:
        from content.render.pdf import pdf_to_png  # loads WeasyPrint: only when needed

        try:
            return pdf_to_png(store.read(files["application/pdf"].sha256), dpi=72)
        except (OSError, subprocess.SubprocessError):  # no poppler, a broken file: no cover
            return None
    return None


def _font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:
        return ImageFont.load_default(size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
          width: int, max_lines: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(trial, font=font) <= width:
            lines[-1] = trial
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(".,;:") + "…"
    return lines


def compose(headline: str, org_name: str, look: Look, cover: bytes | None) -> bytes:
    """The 1200x630 PNG: headline (and organization) on the primary colour, the cover
    on the right when there is one."""
    img = Image.new("RGB", (WIDTH, HEIGHT), look.primary)
    draw = ImageDraw.Draw(img)
    text_right = WIDTH - MARGIN
    if cover is not None:
        try:
            with Image.open(io.BytesIO(cover)) as raw:
                page = raw.convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError):
            page = None
        if page is not None:
            page.thumbnail((440, HEIGHT - 2 * MARGIN + 20))
            x = WIDTH - MARGIN - page.width
            y = (HEIGHT - page.height) // 2
            draw.rectangle((x + 10, y + 10, x + page.width + 10, y + page.height + 10),
                           fill=_shade(look.primary))
            img.paste(page, (x, y))
            text_right = x - MARGIN
    width = text_right - MARGIN
    draw.rectangle((MARGIN, MARGIN, MARGIN + 96, MARGIN + 10), fill=look.accent)
    size, lines = 64, []
    for size in (64, 56, 48, 42):
        font = _font(size)
        lines = _wrap(draw, headline, font, width, 5)
        if len(lines) <= 4:
            break
    font = _font(size)
    y = MARGIN + 48
    for line in lines:
        draw.text((MARGIN, y), line, font=font, fill=look.on_primary)
        y += int(size * 1.2)
    if org_name:
        draw.text((MARGIN, HEIGHT - MARGIN - 32), org_name[:60], font=_font(30, bold=False),
                  fill=look.on_primary)
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def _shade(color: str) -> str:
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"#{int(r * 0.7):02x}{int(g * 0.7):02x}{int(b * 0.7):02x}"


def cache_key(build_id: str, headline: str, org_name: str, look: Look) -> str:
    raw = "\x00".join((build_id, headline, org_name, look.primary, look.on_primary, look.accent))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def og_png(directory: Path, session: Session, magnet: LeadMagnet, store: ArtifactStore,
           headline: str, org_name: str) -> bytes:
    """The page's share image, from the file cache or rendered and cached now."""
    look = look_for(session, magnet)
    found = artifact_for(session, magnet)
    key = cache_key(found.build_id if found is not None else "", headline, org_name, look)
    path = directory / f"{magnet.id}-{key}.png"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data = compose(headline, org_name, look, cover_of(session, magnet, store))
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # readers see the whole file or none
    return data
