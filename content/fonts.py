"""Fonts a brand kit may choose: installed files only, nothing fetched from the internet.

Two sources: Debian's DejaVu families (fontconfig finds them, ``fonts-dejavu-core``) and the
Source Sans 3 / Source Serif 4 / Source Code Pro variable fonts that the ``streamlit``
package (a dependency of the product) ships as WOFF2 files. A family whose files are missing
falls back along its stack, so a machine without them still renders.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Font:
    family: str
    fallback: tuple[str, ...]
    files: tuple[str, ...] = ()  # glob patterns under a package directory; () = a system font
    package: str = ""

    @functools.cached_property
    def paths(self) -> tuple[Path, ...]:
        if not self.package:
            return ()
        try:
            module = __import__(self.package)
        except ImportError:
            return ()
        root = Path(module.__file__ or "").parent
        found: list[Path] = []
        for pattern in self.files:
            found.extend(sorted(root.glob(pattern))[:1])
        return tuple(found)

    @property
    def available(self) -> bool:
        return not self.package or bool(self.paths)

    def stack(self) -> str:
        """A CSS ``font-family`` value: the family, then its fallbacks."""
        names = [self.family, *self.fallback]
        return ", ".join(n if n in ("serif", "sans-serif", "monospace", "system-ui") else f'"{n}"' for n in names)

    def face_css(self) -> str:
        """``@font-face`` rules for a packaged font (``file://`` URLs served by the local fetcher)."""
        rules = []
        for path in self.paths:
            style = "italic" if "Italic" in path.name else "normal"
            rules.append(f'@font-face {{ font-family: "{self.family}"; src: url("{path.as_uri()}"); '
                         f"font-style: {style}; }}")  # variable font: every weight from one file
        return "\n".join(rules)


_MEDIA = "static/static/media/"
FONTS: dict[str, Font] = {f.family: f for f in (
    Font("Source Sans 3", ("DejaVu Sans", "system-ui", "sans-serif"),
         (_MEDIA + "SourceSansVF-Upright*.woff2", _MEDIA + "SourceSansVF-Italic*.woff2"), "streamlit"),
    Font("Source Serif 4", ("DejaVu Serif", "Georgia", "serif"),
         (_MEDIA + "SourceSerifVariable-Roman*.woff2", _MEDIA + "SourceSerifVariable-Italic*.woff2"), "streamlit"),
    Font("Source Code Pro", ("DejaVu Sans Mono", "monospace"),
         (_MEDIA + "SourceCodeVF-Upright*.woff2",), "streamlit"),
    Font("DejaVu Sans", ("Verdana", "sans-serif")),
    Font("DejaVu Serif", ("Georgia", "serif")),
    Font("DejaVu Sans Condensed", ("DejaVu Sans", "Arial Narrow", "sans-serif")),
    Font("DejaVu Sans Mono", ("monospace",)),
)}


def get_font(family: str) -> Font:
    """The installed font ``family``; KeyError names the available ones."""
    font = FONTS.get(family)
    if font is None or not font.available:
        raise KeyError(f"font {family!r} is not installed; choose one of: {', '.join(available_families())}")
    return font


def available_families() -> list[str]:
    return [name for name, f in FONTS.items() if f.available]
