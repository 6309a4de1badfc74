"""The brand kit: colours (WCAG AA checked), installed fonts, a sniffed and sanitised logo, voice.

Every renderer takes a :class:`BrandKit`; a template's manifest supplies the default kit used
when an organization has none. ``load_brand(path)`` reads the YAML/JSON file of the CLI.
"""

from __future__ import annotations

import base64
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from content.document import describe_errors
from content.fonts import get_font

MAX_LOGO_BYTES = 2 * 1024 * 1024
HexColor = Annotated[str, Field(pattern=r"^#(?:[0-9a-fA-F]{3}){1,2}$")]


class BrandError(ValueError):
    """A brand kit that cannot be used; ``str()`` is one line a person can act on."""


def _norm(color: str) -> str:
    c = color.lower()
    return "#" + "".join(ch * 2 for ch in c[1:]) if len(c) == 4 else c


def luminance(color: str) -> float:
    """WCAG 2.x relative luminance of ``#rrggbb``."""
    c = _norm(color)
    chans = [int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4 for x in chans]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio between two colours (1.0 … 21.0)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def mix(a: str, b: str, t: float) -> str:
    """``a`` blended toward ``b`` by ``t`` (0 = a, 1 = b), for tints and shades."""
    ca, cb = _norm(a), _norm(b)
    out = [round(int(ca[i:i + 2], 16) * (1 - t) + int(cb[i:i + 2], 16) * t) for i in (1, 3, 5)]
    return "#" + "".join(f"{v:02x}" for v in out)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Colors(_Model):
    primary: HexColor = "#1d4ed8"
    on_primary: HexColor = "#ffffff"
    accent: HexColor = "#0f766e"
    text: HexColor = "#1f2937"
    background: HexColor = "#ffffff"
    surface: HexColor = "#f3f4f6"

    @field_validator("*")
    @classmethod
    def _lower(cls, v: str) -> str:
        return _norm(v)

    def pairs(self) -> list[tuple[str, str, str, float]]:
        """(what, foreground, background, AA minimum) of every pair a template prints."""
        return [
            ("body text on background", self.text, self.background, 4.5),
            ("body text on surface", self.text, self.surface, 4.5),
            ("button text on primary", self.on_primary, self.primary, 4.5),
            ("headings (primary) on background", self.primary, self.background, 3.0),
            ("accent graphics on background", self.accent, self.background, 3.0),
        ]

    @model_validator(mode="after")
    def _aa(self) -> Colors:
        for what, fg, bg, minimum in self.pairs():
            ratio = contrast(fg, bg)
            if ratio < minimum:
                raise ValueError(f"{what} ({fg} on {bg}) has contrast {ratio:.2f}:1; WCAG AA needs "
                                 f"{minimum}:1 — darken or lighten one of them")
        return self


class Fonts(_Model):
    heading: str = "Source Serif 4"
    body: str = "Source Sans 3"

    @field_validator("heading", "body")
    @classmethod
    def _installed(cls, v: str) -> str:
        try:
            get_font(v)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        return v


class Voice(_Model):
    tone: Annotated[str, Field(max_length=200)] = "clear, practical, friendly"
    use: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(default_factory=list, max_length=50)
    avoid: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(default_factory=list, max_length=50)
    examples: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(default_factory=list, max_length=5)


class Logo(_Model):
    """A logo's bytes after sniffing (PNG, JPEG, GIF, WebP, or a sanitised SVG)."""

    media_type: str
    data: bytes

    @field_serializer("data")
    def _b64(self, data: bytes) -> str:
        return base64.b64encode(data).decode()

    @field_validator("data", mode="before")
    @classmethod
    def _from_b64(cls, v: Any) -> Any:
        return base64.b64decode(v, validate=True) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _check(self) -> Logo:
        media_type, data = sniff_logo(self.data)
        object.__setattr__(self, "media_type", media_type)
        object.__setattr__(self, "data", data)
        return self

    def data_uri(self) -> str:
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode()}"


class BrandKit(_Model):
    """An organization's look and voice; every output uses one."""

    name: Annotated[str, Field(min_length=1, max_length=100)] = "Default"
    company: Annotated[str, Field(max_length=100)] = ""
    website: Annotated[str, Field(max_length=200, pattern=r"^(https?://\S+)?$")] = ""
    colors: Colors = Field(default_factory=Colors)
    fonts: Fonts = Field(default_factory=Fonts)
    logo: Logo | None = None
    voice: Voice = Field(default_factory=Voice)

    def contrast_report(self) -> list[tuple[str, str, str, float, float]]:
        """(what, fg, bg, ratio, minimum) for every checked pair."""
        return [(w, fg, bg, contrast(fg, bg), m) for w, fg, bg, m in self.colors.pairs()]

    def css_variables(self) -> str:
        """The ``:root`` custom properties every template's CSS reads."""
        c = self.colors
        heading, body = get_font(self.fonts.heading), get_font(self.fonts.body)
        values = {
            "primary": c.primary, "on-primary": c.on_primary, "accent": c.accent, "text": c.text,
            "bg": c.background, "surface": c.surface,
            "muted": mix(c.text, c.background, 0.25),
            "line": mix(c.text, c.background, 0.82),
            "primary-soft": mix(c.primary, c.background, 0.88),
            "accent-soft": mix(c.accent, c.background, 0.86),
            "primary-dark": mix(c.primary, "#000000", 0.25),
            "heading-font": heading.stack(), "body-font": body.stack(),
        }
        return ":root { " + " ".join(f"--{k}: {v};" for k, v in values.items()) + " }"

    def font_faces(self) -> str:
        """``@font-face`` rules for the packaged fonts the kit uses (for PDFs)."""
        families = dict.fromkeys([self.fonts.heading, self.fonts.body])
        return "\n".join(get_font(f).face_css() for f in families)


# ---- logos -------------------------------------------------------------------------------

_RASTER = [(b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
           (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif")]
_SVG_TAGS = {"svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text",
             "tspan", "defs", "lineargradient", "radialgradient", "stop", "clippath", "mask", "use",
             "title", "desc", "symbol", "image"}
_SAFE_HREF = re.compile(r"^(#|data:image/(png|jpeg|gif|webp);base64,)", re.I)


def sniff_logo(data: bytes) -> tuple[str, bytes]:
    """Media type and (for SVG, sanitised) bytes of a logo, by content — never by file name.

    Raises:
        BrandError: too large, not an image, or a raster image that does not decode.
    """
    if len(data) > MAX_LOGO_BYTES:
        raise BrandError(f"the logo is {len(data) / 1048576:.1f} MB; the limit is "
                         f"{MAX_LOGO_BYTES // 1048576} MB — export a smaller PNG or an SVG")
    media_type = next((m for magic, m in _RASTER if data.startswith(magic)), None)
    if media_type is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        media_type = "image/webp"
    if media_type:
        from PIL import Image as PILImage

        try:
            with PILImage.open(io.BytesIO(data)) as im:
                im.verify()
        except Exception as exc:  # noqa: BLE001 - any decoder error means the same to the user
            raise BrandError(f"the logo looks like {media_type} but does not decode ({exc})") from None
        return media_type, data
    head = data[:2048].lstrip().lower()
    if head.startswith(b"<?xml") or head.startswith(b"<svg") or head.startswith(b"<!--"):
        return "image/svg+xml", sanitize_svg(data)
    raise BrandError("the logo is not a PNG, JPEG, GIF, WebP or SVG image (checked by its content)")


def sanitize_svg(data: bytes) -> bytes:
    """An SVG with scripts, event handlers, foreign content, styles and external references removed."""
    text = data.decode("utf-8", errors="strict") if isinstance(data, bytes) else data
    if re.search(r"<!DOCTYPE|<!ENTITY", text, re.I):
        raise BrandError("the SVG logo declares a DOCTYPE or entities; export it without them")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise BrandError(f"the SVG logo is not well-formed XML ({exc})") from None
    if _local(root.tag) != "svg":
        raise BrandError("the SVG logo's root element is not <svg>")
    _clean(root)
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    return ET.tostring(root, encoding="utf-8")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _clean(el: ET.Element) -> None:
    for child in list(el):
        if not isinstance(child.tag, str) or _local(child.tag) not in _SVG_TAGS:
            el.remove(child)
            continue
        _clean(child)
    for attr in list(el.attrib):
        name, value = _local(attr), el.attrib[attr]
        if (name.startswith("on") or (name == "href" and not _SAFE_HREF.match(value.strip()))
                or (name == "style" and re.search(r"url\s*\(\s*['\"]?(?!#)|expression|@import", value, re.I))
                or re.search(r"url\s*\(\s*['\"]?(?!#)", value, re.I) or "javascript:" in value.lower()):
            del el.attrib[attr]


# ---- files -------------------------------------------------------------------------------


def load_brand(path: str | Path) -> BrandKit:
    """A brand kit from a YAML or JSON file; ``logo:`` is a path relative to the file.

    Raises:
        BrandError: unreadable file, bad YAML, a failing field (with where and why).
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BrandError(f"cannot read the brand file {path}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BrandError(f"{path} is not valid YAML/JSON: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise BrandError(f"{path} must hold a mapping (name:, colors:, fonts:, logo:, voice:)")
    logo = raw.get("logo")
    if isinstance(logo, str):
        logo_path = (path.parent / logo).resolve()
        try:
            size = logo_path.stat().st_size
            if size > MAX_LOGO_BYTES:
                raise BrandError(f"the logo {logo} is {size / 1048576:.1f} MB; the limit is "
                                 f"{MAX_LOGO_BYTES // 1048576} MB")
            raw["logo"] = {"media_type": "", "data": logo_path.read_bytes()}
        except OSError as exc:
            raise BrandError(f"cannot read the logo {logo}: {exc.strerror}") from None
    return parse_brand(raw)


def parse_brand(raw: dict[str, Any]) -> BrandKit:
    """Validate a brand kit mapping with one readable error line."""
    try:
        return BrandKit.model_validate(raw)
    except ValidationError as exc:
        raise BrandError(describe_errors(exc)) from exc
    except BrandError:
        raise
