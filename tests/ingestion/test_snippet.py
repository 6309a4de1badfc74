"""The published snippet: rebuilt from source, size-bounded, SRI documented, valid ES5."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from experiments.assignment import assign
from ingestion import snippet


def test_published_version_is_the_build_of_the_current_source() -> None:
    published = snippet.published()
    assert snippet.VERSION in published, "run `python -m ingestion.snippet` to publish"
    assert published[snippet.VERSION] == snippet.build(), (
        f"ingestion/static/s.js or experiments/assignment.js changed since v{snippet.VERSION} "
        "was published: bump snippet.VERSION and run `python -m ingestion.snippet`"
    )


def test_snippet_is_small() -> None:
    for version, body in snippet.published().items():
        size = len(snippet.gzip_bytes(body))
        assert size <= snippet.MAX_GZIP_BYTES, f"v{version} is {size} bytes gzipped"


def test_docs_list_the_sri_hash_of_every_version() -> None:
    text = snippet.DOCS.read_text(encoding="utf-8")
    assert text == snippet.docs_with_table(text, snippet.published()), (
        "docs/tracking.md has a stale SRI table: run `python -m ingestion.snippet`"
    )
    for body in snippet.published().values():
        assert snippet.sri(body) in text


def test_check_mode_agrees() -> None:
    assert snippet.main(["--check"]) == 0


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_minified_snippet_parses_and_assigns_like_python() -> None:
    body = snippet.published()[snippet.VERSION].decode()
    # Run the snippet's inlined lsAssign (renamed by the minifier) through a tiny fake DOM:
    # the IIFE returns early without document.currentScript, so we extract the function.
    probe = """
const src = require('fs').readFileSync(0, 'utf8');
new Function(src);  // parses as a script
const m = src.match(/function (\\w+)\\((\\w+),(\\w+),(\\w+),(\\w+)\\)\\{function \\w+\\(\\w+\\)\\{var \\w+=0x811c9dc5/);
if (!m) { console.log('NOFN'); process.exit(0); }
let depth = 0, i = m.index, end = -1;
for (; i < src.length; i++) { if (src[i] === '{') depth++; else if (src[i] === '}') { depth--; if (depth === 0) { end = i; break; } } }
const fn = new Function('return ' + src.slice(m.index, end + 1))();
const out = [];
for (let k = 0; k < 200; k++) out.push(fn('exp-key', 'visitor-' + k, [0.5, 0.3, 0.2], 0.9));
console.log(JSON.stringify(out));
"""
    out = subprocess.run(["node", "-e", probe], input=body, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() != "NOFN", "lsAssign not found in the published snippet"
    got = [int(x) for x in out.stdout.strip().strip("[]").split(",")]
    variants = ["A", "B", "C"]
    want = [assign("exp-key", f"visitor-{k}", variants, [0.5, 0.3, 0.2], 0.9) for k in range(200)]
    assert [variants[i] if i >= 0 else None for i in got] == want
