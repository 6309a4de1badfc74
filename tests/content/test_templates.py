from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from content import library
from content.document import Industry, MagnetType
from content.library import TemplateError, get_template, list_templates, resolve


def test_every_industry_has_every_type() -> None:
    for industry in Industry:
        assert {t.type for t in list_templates(industry=industry)} == set(MagnetType), industry
    assert len(list_templates()) >= 30
    assert [t.name for t in list_templates("ebook", "saas")] == ["saas-ebook"]


def test_templates_look_distinct() -> None:
    """Each industry has its own palette, fonts or decoration: no two share all three."""
    looks = set()
    for t in list_templates(MagnetType.EBOOK):
        kit = t.default_brand()
        looks.add((kit.colors.primary, kit.fonts.heading, t.css()))
        assert t.description and t.sample["topic"]
    assert len(looks) == len(list_templates(MagnetType.EBOOK))


def test_unknown_or_mismatched_templates_are_refused_with_the_names() -> None:
    with pytest.raises(TemplateError, match="unknown template 'nope'"):
        get_template("nope")
    with pytest.raises(TemplateError, match="is for checklists, not ebooks"):
        resolve(MagnetType.EBOOK, None, "saas-checklist")
    assert resolve(MagnetType.EBOOK, Industry.HEALTH, None).name == "health-ebook"


def test_adding_a_template_is_adding_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "templates"
    shutil.copytree(library.TEMPLATES_DIR, root)
    folder = root / "saas-ebook-midnight"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(
        {"name": "saas-ebook-midnight", "type": "ebook", "industry": "saas", "description": "Dark cover",
         "brand": {"colors": {"primary": "#111827"}}}))
    (folder / "template.html.j2").write_text('{% extends "_base/ebook.html.j2" %}')
    (folder / "style.css").write_text(".cover { background: #111827 }")
    monkeypatch.setattr(library, "TEMPLATES_DIR", root)
    library._all.cache_clear()
    try:
        info = get_template("saas-ebook-midnight")
        assert info.default_brand().colors.primary == "#111827"
        assert "saas-ebook-midnight" in [t.name for t in list_templates("ebook", "saas")]
    finally:
        library._all.cache_clear()
