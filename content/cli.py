"""``lodestone magnet build|templates`` and ``lodestone brand check``: offline, no server needed.

Bad input (empty or overlong topic, unknown type/industry/template, a bad brand file) exits 2
with one line on stderr; nothing is written unless the whole build succeeded.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported by the commands themselves: `lodestone --help` stays fast
    from content.document import Industry, MagnetType

EXIT_USAGE = 2


def add_commands(subparsers: Any) -> None:
    """Register ``magnet`` and ``brand`` on the main parser's subparsers."""
    magnet = subparsers.add_parser("magnet", help="build lead magnets offline and list templates")
    msub = magnet.add_subparsers(dest="magnet_command", required=True, metavar="ACTION")
    b = msub.add_parser("build", help="generate and render a magnet into a folder (every format of its type)")
    b.add_argument("--type", required=True, help="ebook, checklist, template, calculator or infographic")
    b.add_argument("--topic", required=True, help="what the magnet is about, one line")
    b.add_argument("--industry", default="saas", help="saas, ecommerce, agency, coaching, real-estate, health")
    b.add_argument("--audience", default="", help="who reads it")
    b.add_argument("--brand", type=Path, help="brand kit YAML/JSON file (default: the template's own)")
    b.add_argument("--template", help="template name (default: the type's template for the industry)")
    b.add_argument("--chapters", type=int, default=None, help="ebook chapters (1-12)")
    b.add_argument("--out", type=Path, required=True, help="folder to write the files into")
    b.set_defaults(func=_cmd_build)
    t = msub.add_parser("templates", help="list the template library")
    t.add_argument("--type", default=None)
    t.add_argument("--industry", default=None)
    t.set_defaults(func=_cmd_templates)
    brand = subparsers.add_parser("brand", help="brand kits")
    bsub = brand.add_subparsers(dest="brand_command", required=True, metavar="ACTION")
    c = bsub.add_parser("check", help="validate a brand kit file and print its contrast ratios")
    c.add_argument("file", type=Path)
    c.set_defaults(func=_cmd_brand_check)


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _fail(message: str) -> int:
    sys.stderr.write(f"error: {message}\n")
    return EXIT_USAGE


def _choice(value: str, enum: type[MagnetType] | type[Industry]) -> Any:

    try:
        return enum(value)
    except ValueError:
        return None


def _quiet() -> None:
    """WeasyPrint and fontTools log every step at INFO; the CLI prints its own summary."""
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _cmd_build(args: argparse.Namespace) -> int:
    from content.document import Industry, MagnetType

    _quiet()
    from content.brand import BrandError, load_brand
    from content.build import BuildError, build
    from content.document import Design, DocumentError, make_brief
    from content.library import TemplateError, resolve
    from content.offline import generate

    mtype = _choice(args.type, MagnetType)
    if mtype is None:
        return _fail(f"unknown type {args.type!r}; choose one of: {', '.join(t.value for t in MagnetType)}")
    industry = _choice(args.industry, Industry)
    if industry is None:
        return _fail(f"unknown industry {args.industry!r}; choose one of: {', '.join(i.value for i in Industry)}")
    if args.chapters is not None and not 1 <= args.chapters <= 12:
        return _fail("--chapters must be between 1 and 12")
    try:
        brief = make_brief(mtype, args.topic, industry, args.audience)
        info = resolve(mtype, industry, args.template)
        brand = load_brand(args.brand) if args.brand else None
        doc = generate(brief, chapters=args.chapters)
        result = build(doc, Design(template=info.name), brand)
    except (DocumentError, TemplateError, BrandError, BuildError) as exc:
        return _fail(str(exc).splitlines()[0])
    args.out.mkdir(parents=True, exist_ok=True)
    for artifact in result.artifacts:  # temp file + rename: no half-written file is ever left
        fd, tmp = tempfile.mkstemp(dir=args.out, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(artifact.data)
        os.replace(tmp, args.out / artifact.name)
    _out(f"{mtype.value} '{doc.title}' with template {result.template}:")
    for artifact in result.artifacts:
        _out(f"  {args.out / artifact.name}  {artifact.size / 1024:,.1f} KB")
    for warning in result.warnings:
        _out(f"  warning: {warning}")
    return 0


def _cmd_templates(args: argparse.Namespace) -> int:
    from content.document import Industry, MagnetType
    from content.library import list_templates

    if args.type and _choice(args.type, MagnetType) is None:
        return _fail(f"unknown type {args.type!r}; choose one of: {', '.join(t.value for t in MagnetType)}")
    if args.industry and _choice(args.industry, Industry) is None:
        return _fail(f"unknown industry {args.industry!r}; choose one of: {', '.join(i.value for i in Industry)}")
    for info in list_templates(args.type, args.industry):
        _out(f"{info.name:26} {info.type.value:12} {info.industry.value:12} {info.description}")
    return 0


def _cmd_brand_check(args: argparse.Namespace) -> int:
    from content.brand import BrandError, load_brand

    try:
        kit = load_brand(args.file)
    except BrandError as exc:
        return _fail(str(exc).splitlines()[0])
    _out(f"brand kit '{kit.name}' is valid (fonts: {kit.fonts.heading} / {kit.fonts.body}; "
          f"logo: {kit.logo.media_type if kit.logo else 'none'})")
    for what, fg, bg, ratio, minimum in kit.contrast_report():
        _out(f"  {what:34} {fg} on {bg}  {ratio:5.2f}:1  (AA {minimum}:1) ok")
    return 0
