from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from content.brand import (
    BrandError,
    BrandKit,
    contrast,
    load_brand,
    parse_brand,
    sanitize_svg,
    sniff_logo,
)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 20), "#1d4ed8").save(buf, "PNG")
    return buf.getvalue()


def test_contrast_ratios_match_wcag() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-fails-AA grey


def test_a_failing_colour_pair_is_refused_with_its_ratio() -> None:
    with pytest.raises(BrandError) as err:
        parse_brand({"colors": {"text": "#777777", "background": "#ffffff"}})
    assert "4.48:1" in str(err.value) and "4.5:1" in str(err.value)
    with pytest.raises(BrandError, match="button text on primary"):
        parse_brand({"colors": {"primary": "#facc15", "on_primary": "#ffffff"}})


def test_fonts_must_be_installed() -> None:
    with pytest.raises(BrandError, match="not installed; choose one of"):
        parse_brand({"fonts": {"body": "Comic Sans MS"}})
    kit = parse_brand({"fonts": {"heading": "DejaVu Serif", "body": "Source Sans 3"}})
    assert '"Source Sans 3", "DejaVu Sans"' in kit.css_variables()


def test_logo_is_checked_by_content_not_by_name() -> None:
    assert sniff_logo(_png())[0] == "image/png"
    with pytest.raises(BrandError, match="not a PNG, JPEG"):
        sniff_logo(b"MZ\x90\x00 this is an exe")
    with pytest.raises(BrandError, match="40.0 MB; the limit is 2 MB"):
        sniff_logo(b"\x89PNG\r\n\x1a\n" + b"\0" * (40 * 1024 * 1024 - 8))
    with pytest.raises(BrandError, match="does not decode"):
        sniff_logo(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)


def test_svg_logos_are_sanitised() -> None:
    dirty = b"""<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert(1)">
      <script>alert(2)</script><foreignObject><iframe src="https://evil"/></foreignObject>
      <rect width="10" height="10" fill="url(https://evil/x)" style="fill: url(http://evil)"/>
      <image xlink:href="http://169.254.169.254/latest" width="1" height="1"/>
      <a href="javascript:alert(3)"><circle r="4" onclick="alert(4)" fill="#123456"/></a>
      <use href="#ok"/><text>Acme</text></svg>"""
    clean = sanitize_svg(dirty).decode()
    for bad in ("alert", "script", "foreignObject", "evil", "169.254", "javascript", "onload", "onclick"):
        assert bad not in clean, bad
    assert 'href="#ok"' in clean and "Acme" in clean
    with pytest.raises(BrandError, match="DOCTYPE"):
        sanitize_svg(b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "b">]><svg/>')


def test_load_brand_from_yaml_with_a_logo_file(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(_png())
    (tmp_path / "brand.yaml").write_text(
        "name: Acme\ncompany: Acme Rockets\nlogo: logo.png\ncolors:\n  primary: '#0b5394'\n"
        "voice:\n  tone: confident\n  avoid: [synergy]\n")
    kit = load_brand(tmp_path / "brand.yaml")
    assert kit.logo is not None and kit.logo.media_type == "image/png" and kit.voice.avoid == ["synergy"]
    assert BrandKit.model_validate_json(kit.model_dump_json()) == kit  # logo survives JSON (base64)
    (tmp_path / "bad.yaml").write_text("colors: [1, 2\n")
    with pytest.raises(BrandError, match="not valid YAML"):
        load_brand(tmp_path / "bad.yaml")
    with pytest.raises(BrandError, match="cannot read the brand file"):
        load_brand(tmp_path / "missing.yaml")
    (tmp_path / "fake.yaml").write_text("logo: fake.png\n")
    (tmp_path / "fake.png").write_text("not an image")
    with pytest.raises(BrandError, match="not a PNG"):
        load_brand(tmp_path / "fake.yaml")
