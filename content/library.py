"""The template library: one folder per template under ``content/templates/``, found by its manifest.

A template folder holds ``manifest.json`` (name, type, industry, description, default brand,
layout options, sample brief), a Jinja template (``template.html.j2`` or ``template.svg.j2``)
extending a shared base layout of its type in ``_base/``, and ``style.css``. Adding a template is
adding a folder. Manifests are read once, on first use; templates are compiled by Jinja on demand.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from content.brand import BrandKit, parse_brand
from content.document import Industry, MagnetType

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


class TemplateError(LookupError):
    """An unknown template, or one that does not fit the document; ``str()`` says which exist."""


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    type: MagnetType
    industry: Industry
    description: str
    path: Path
    layout: dict[str, Any] = field(default_factory=dict)
    brand: dict[str, Any] = field(default_factory=dict)
    sample: dict[str, str] = field(default_factory=dict)

    @property
    def entry(self) -> str:
        """The Jinja name of the template's entry file."""
        suffix = "svg" if self.type == MagnetType.INFOGRAPHIC else "html"
        return f"{self.name}/template.{suffix}.j2"

    def css(self) -> str:
        style = self.path / "style.css"
        return style.read_text(encoding="utf-8") if style.exists() else ""

    def default_brand(self) -> BrandKit:
        return parse_brand(self.brand) if self.brand else BrandKit()

    def preview_path(self, root: Path) -> Path:
        """Where ``make previews`` writes this template's page-1 PNG under ``root``."""
        return root / f"{self.name}.png"


@functools.cache
def _all() -> dict[str, TemplateInfo]:
    found: dict[str, TemplateInfo] = {}
    for manifest in sorted(TEMPLATES_DIR.glob("*/manifest.json")):
        raw = json.loads(manifest.read_text(encoding="utf-8"))
        info = TemplateInfo(name=manifest.parent.name, type=MagnetType(raw["type"]),
                            industry=Industry(raw["industry"]), description=raw.get("description", ""),
                            path=manifest.parent, layout=raw.get("layout", {}), brand=raw.get("brand", {}),
                            sample=raw.get("sample", {}))
        if raw.get("name", info.name) != info.name:
            raise TemplateError(f"{manifest}: name {raw['name']!r} differs from its folder {info.name!r}")
        found[info.name] = info
    return found


def list_templates(type: MagnetType | str | None = None, industry: Industry | str | None = None) -> list[TemplateInfo]:
    """Templates filtered by type and industry, by name."""
    t = MagnetType(type) if type else None
    i = Industry(industry) if industry else None
    return [x for x in _all().values() if (t is None or x.type == t) and (i is None or x.industry == i)]


def get_template(name: str) -> TemplateInfo:
    info = _all().get(name)
    if info is None:
        raise TemplateError(f"unknown template {name!r}; `lodestone magnet templates` lists them "
                            f"(e.g. {', '.join(sorted(_all())[:3])})")
    return info


def default_template(type: MagnetType | str, industry: Industry | str | None) -> TemplateInfo:
    """The library's template for a type and industry (SaaS when the industry has none)."""
    for ind in (industry, Industry.SAAS):
        found = list_templates(type, ind) if ind else []
        if found:
            return found[0]
    raise TemplateError(f"no template of type {type}")


def resolve(type: MagnetType, industry: Industry | None, name: str | None) -> TemplateInfo:
    """The named template (checked against the type) or the default one."""
    if not name:
        return default_template(type, industry)
    info = get_template(name)
    if info.type != type:
        raise TemplateError(f"template {name!r} is for {info.type.value}s, not {type.value}s; "
                            f"choose one of: {', '.join(t.name for t in list_templates(type))}")
    return info
