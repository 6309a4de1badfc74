"""Content builds: a 30-page ebook PDF against cold raw WeasyPrint, the other types, calculator size.

    .venv/bin/python benchmarks/content.py

Anchors, measured in the same run: a cold raw WeasyPrint render of the very same ebook HTML
(fresh process: new FontConfiguration, stylesheets parsed again) for the ebook; the product's
budgets (1 s a checklist/template/infographic, 50 KB gzipped calculator, 1 s to generate a
30-page ebook document) for the others. Warm figures are medians of 3 in one long-running process,
as a build worker runs.
"""

from __future__ import annotations

import gzip
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from content.build import build  # noqa: E402
from content.document import Design  # noqa: E402
from content.library import get_template  # noqa: E402
from content.offline import generate_from  # noqa: E402
from content.render.html import render_html, stylesheet  # noqa: E402

COLD = """
import sys, time
from weasyprint import HTML
html = open(sys.argv[1], encoding="utf-8").read()
t0, c0 = time.perf_counter(), time.process_time()
pdf = HTML(string=html, base_url=sys.argv[2]).write_pdf()
print(time.perf_counter() - t0, time.process_time() - c0, len(pdf))
"""


PAGES = 30


def _median(fn, n: int = 3) -> float:  # noqa: ANN001
    return _median2(fn, n)[0]


def _median2(fn, n: int = 3) -> tuple[float, float]:  # noqa: ANN001
    """Median wall and CPU seconds of ``fn`` (CPU is what the code costs on a shared machine)."""
    walls, cpus = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def _pages(pdf: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        info = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True, check=True).stdout
    return int(info.split("Pages:")[1].split()[0])


def main() -> int:
    logging.disable(logging.WARNING)
    info = get_template("saas-ebook")
    brand = info.default_brand()
    design = Design(template="saas-ebook")
    chapters = 8
    while True:  # the figure is for a 30-page ebook: add chapters until it has 30 pages
        doc = generate_from("ebook", "Scaling customer success", "saas", chapters=chapters)
        pdf = build(doc, design, formats=["pdf"]).artifacts[0].data  # also the warm-up
        pages = _pages(pdf)
        if pages >= PAGES or chapters >= 20:
            break
        chapters += 1
    gen = _median(lambda: generate_from("ebook", "Scaling customer success", "saas",
                                        chapters=chapters), 5)
    print(f"offline generator, {len(doc.sections)}-section ebook document ({pages} pages): "
          f"{gen * 1000:.1f} ms (anchor: budget 1000 ms; {gen:.3f}x)")

    warm, warm_cpu = _median2(lambda: build(doc, design, formats=["pdf"]))
    html = render_html(doc, info, brand, inline_css=False, interactive=False)
    css = stylesheet(info, brand, fonts=True)
    full = html.replace("<style></style>", f"<style>{css}</style>", 1)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "ebook.html"
        page.write_text(full, encoding="utf-8")
        colds, cold_cpus = [], []
        for _ in range(3):
            out = subprocess.run([sys.executable, "-c", COLD, str(page), (ROOT / "content/templates").as_uri() + "/"],
                                 capture_output=True, text=True, check=True).stdout.split()
            colds.append(float(out[0]))
            cold_cpus.append(float(out[1]))
    cold, cold_cpu = statistics.median(colds), statistics.median(cold_cpus)
    print(f"ebook PDF, {pages} pages, warm build (render + PDF): wall {warm:.2f} s, CPU {warm_cpu:.2f} s "
          f"(anchor: cold raw WeasyPrint on the same HTML: wall {cold:.2f} s, CPU {cold_cpu:.2f} s; "
          f"ratio wall {warm / cold:.2f}, CPU {warm_cpu / cold_cpu:.2f}; budget 2.5 s)")

    for mtype, name in (("checklist", "saas-checklist"), ("template", "saas-template"),
                        ("infographic", "saas-infographic")):
        d = generate_from(mtype, "Scaling customer success", "saas")
        dz = Design(template=name)
        build(d, dz)  # warm-up
        t, tc = _median2(lambda d=d, dz=dz: build(d, dz))
        formats = ", ".join(a.name.rsplit(".", 1)[1] for a in build(d, dz).artifacts)
        print(f"{mtype} build ({formats}): wall {t:.2f} s, CPU {tc:.2f} s (anchor: budget 1.00 s; CPU {tc:.2f}x)")

    sizes = {}
    for industry in ("saas", "ecommerce", "agency", "coaching", "real-estate", "health"):
        d = generate_from("calculator", "What it is worth", industry)
        html_bytes = build(d, Design(template=f"{industry}-calculator")).artifacts[0].data
        sizes[industry] = len(gzip.compress(html_bytes, 9))
    worst = max(sizes.values())
    print(f"calculator HTML with its script, gzipped: largest {worst / 1024:.1f} KB "
          f"(anchor: budget 50 KB; {worst / 51200:.2f}x) {json.dumps({k: round(v / 1024, 1) for k, v in sizes.items()})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
