from __future__ import annotations

from pathlib import Path

import pytest

from lodestone.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_magnet_build_writes_every_format_and_lists_sizes(tmp_path: Path, capsys, settings) -> None:
    code, out, _ = _run(capsys, "magnet", "build", "--type", "infographic", "--topic", "Faster closings",
                        "--industry", "real-estate", "--out", str(tmp_path / "out"))
    assert code == 0
    files = sorted(p.suffix for p in (tmp_path / "out").iterdir())
    assert files == [".pdf", ".png", ".svg"]
    assert "KB" in out and "real-estate-infographic" in out


def test_magnet_build_with_a_brand_file(tmp_path: Path, capsys, settings) -> None:
    brand = tmp_path / "brand.yaml"
    brand.write_text("name: Acme\ncompany: Acme Rockets\ncolors:\n  primary: '#0b5394'\n")
    code, out, _ = _run(capsys, "magnet", "build", "--type", "calculator", "--topic", "Savings",
                        "--brand", str(brand), "--out", str(tmp_path / "o"))
    assert code == 0
    html = next((tmp_path / "o").glob("*.html")).read_text()
    assert "#0b5394" in html and "Acme Rockets" in html


@pytest.mark.parametrize(("args", "message"), [
    (["--type", "ebook", "--topic", ""], "the topic is empty"),
    (["--type", "ebook", "--topic", "x" * 10_000], "10000 characters long"),
    (["--type", "poster", "--topic", "x"], "unknown type 'poster'"),
    (["--type", "ebook", "--topic", "x", "--industry", "mining"], "unknown industry 'mining'"),
    (["--type", "ebook", "--topic", "x", "--template", "nope"], "unknown template 'nope'"),
    (["--type", "ebook", "--topic", "x", "--brand", "/nonexistent.yaml"], "cannot read the brand file"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, capsys, settings, args, message) -> None:
    code, _, err = _run(capsys, "magnet", "build", *args, "--out", str(tmp_path / "out"))
    assert code == 2
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_templates_and_brand_check(tmp_path: Path, capsys, settings) -> None:
    code, out, _ = _run(capsys, "magnet", "templates", "--type", "checklist")
    assert code == 0 and len(out.splitlines()) == 6 and "coaching-checklist" in out
    good = tmp_path / "good.yaml"
    good.write_text("colors:\n  primary: '#0b5394'\n")
    code, out, _ = _run(capsys, "brand", "check", str(good))
    assert code == 0 and "button text on primary" in out and ":1" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("colors:\n  text: '#999999'\n")
    code, _, err = _run(capsys, "brand", "check", str(bad))
    assert code == 2 and "2.85:1" in err
