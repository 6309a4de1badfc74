"""The tracking snippet: build (inline lsAssign + minify), versions, ETags and SRI hashes.

``ingestion/static/s.js`` is the readable ES5 source. ``python -m ingestion.snippet`` builds
it (inlining ``lsAssign`` from ``experiments/assignment.js``, then minifying it with
calmjs.parse, which parses ES5 and shortens local names deterministically) into ``ingestion/static/v<VERSION>.js`` and rewrites the SRI table of
``docs/tracking.md``. A published version file is never rewritten: a change to the source
(or to ``assignment.js``) needs ``VERSION`` bumped, and a test fails until it is. At run
time the collector serves only the published files, so it needs no minifier.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

STATIC = Path(__file__).with_name("static")
SOURCE = STATIC / "s.js"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "tracking.md"
VERSION = 2  # bump when the built snippet changes; published versions stay immutable
MARKER = "/*@lsAssign*/"
MAX_GZIP_BYTES = 2048
SRI_BEGIN, SRI_END = "<!-- sri:begin -->", "<!-- sri:end -->"


def build() -> bytes:
    """The minified snippet built from source (deterministic)."""
    from calmjs.parse import es5  # build-time only (dev dependency)
    from calmjs.parse.unparsers.es5 import minify_print

    from experiments.assignment import js_source

    source = SOURCE.read_text(encoding="utf-8")
    if MARKER not in source:
        raise RuntimeError(f"{SOURCE} lacks the {MARKER} marker where lsAssign goes")
    text = source.replace(MARKER, js_source())
    return minify_print(es5(text), obfuscate=True, obfuscate_globals=False).encode()


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip (no timestamp), as served to browsers that accept it."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def sri(data: bytes) -> str:
    """Subresource Integrity value (sha384) of ``data``."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def version_path(version: int) -> Path:
    return STATIC / f"v{version}.js"


def published() -> dict[int, bytes]:
    """Every published version, by number."""
    out = {}
    for p in STATIC.glob("v*.js"):
        m = re.fullmatch(r"v(\d+)\.js", p.name)
        if m:
            out[int(m.group(1))] = p.read_bytes()
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class Asset:
    """One servable version: bytes, gzip bytes, strong ETag, SRI."""

    version: int
    body: bytes
    gzipped: bytes
    etag: str
    integrity: str


def load_assets() -> dict[int, Asset]:
    """Published versions ready to serve (read once at start-up)."""
    out = {}
    for v, body in published().items():
        digest = hashlib.sha256(body).hexdigest()[:20]
        out[v] = Asset(v, body, gzip_bytes(body), f'"v{v}-{digest}"', sri(body))
    return out


def sri_table(versions: dict[int, bytes]) -> str:
    """The Markdown table of versions, sizes and SRI hashes kept in docs/tracking.md."""
    lines = [SRI_BEGIN, "| Version | URL | Bytes (gzip) | SRI (`integrity=`) |",
             "| --- | --- | --- | --- |"]
    for v, body in versions.items():
        lines.append(f"| v{v} | `/s/v{v}.js` | {len(body)} ({len(gzip_bytes(body))}) | `{sri(body)}` |")
    lines.append(SRI_END)
    return "\n".join(lines)


def docs_with_table(text: str, versions: dict[int, bytes]) -> str:
    """``text`` with its SRI table replaced by the current one."""
    start, end = text.index(SRI_BEGIN), text.index(SRI_END) + len(SRI_END)
    return text[:start] + sri_table(versions) + text[end:]


def main(argv: list[str] | None = None) -> int:
    """Build and publish the current version, refresh the docs' SRI table (or --check)."""
    ap = argparse.ArgumentParser(prog="python -m ingestion.snippet", description=__doc__)
    ap.add_argument("--check", action="store_true", help="only verify; exit 1 if anything is stale")
    args = ap.parse_args(argv)
    built = build()
    path = version_path(VERSION)
    problems = []
    if path.exists() and path.read_bytes() != built:
        problems.append(f"{path.name} is published and differs from the build: bump VERSION")
    elif not path.exists() and not args.check:
        path.write_bytes(built)
    if len(gzip_bytes(built)) > MAX_GZIP_BYTES:
        problems.append(f"snippet is {len(gzip_bytes(built))} bytes gzipped (> {MAX_GZIP_BYTES})")
    text = DOCS.read_text(encoding="utf-8")
    fresh = docs_with_table(text, published())
    if fresh != text:
        if args.check:
            problems.append(f"{DOCS} has a stale SRI table")
        else:
            DOCS.write_text(fresh, encoding="utf-8")
    for line in problems:
        sys.stderr.write(line + "\n")
    sys.stdout.write(sri_table(published()) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
