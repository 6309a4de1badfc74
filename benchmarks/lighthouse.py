"""Lighthouse scores of the demo landing page (mobile profile), beside a bare page.

    .venv/bin/python benchmarks/lighthouse.py [--runs 3]

Needs Node and Lighthouse, installed outside the product (the tests and ``.ci/run`` never
need them; the folder is git-ignored):

    mkdir -p benchmarks/.lighthouse && npm install --prefix benchmarks/.lighthouse lighthouse@12

A child process serves ``create_app`` (collector on: each view records its events) on
127.0.0.1 with the landing benchmark's magnet (``benchmarks/landing.py``: a running A/B
test); Lighthouse drives Debian's ``/usr/bin/chromium`` headless with its default mobile
profile (Moto G-class device, simulated slow 4G, 4x CPU slowdown) over the landing page and,
as the anchor, the organization's privacy notice (the same template and CSS, no form).
Prints the median of ``--runs`` for performance, accessibility, best practices and SEO,
LCP and total blocking time. Targets (issue #12): performance, accessibility and best
practices >= 95, LCP <= 2.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.api import free_port, wait_healthy  # noqa: E402
from benchmarks.landing import seed  # noqa: E402

LIGHTHOUSE = ROOT / "benchmarks" / ".lighthouse" / "node_modules" / "lighthouse" / "cli" / "index.js"
CHROMIUM = "/usr/bin/chromium"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def audit(url: str) -> dict[str, float]:
    """One Lighthouse run: category scores (0-100), LCP and TBT in ms."""
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run(
            ["node", str(LIGHTHOUSE), url, "--output=json", "--output-path=stdout", "--quiet",
             f"--only-categories={','.join(CATEGORIES)}",
             f"--chrome-flags=--headless=new --no-sandbox --disable-gpu --user-data-dir={profile}"],
            env={**os.environ, "CHROME_PATH": CHROMIUM}, capture_output=True, text=True,
            timeout=300, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"lighthouse failed: {out.stderr[-800:]}")
    report = json.loads(out.stdout)
    scores = {c: 100 * float(report["categories"][c]["score"] or 0) for c in CATEGORIES}
    audits = report["audits"]
    scores["lcp_ms"] = float(audits["largest-contentful-paint"]["numericValue"])
    scores["tbt_ms"] = float(audits["total-blocking-time"]["numericValue"])
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not LIGHTHOUSE.exists() or not shutil.which("node") or not Path(CHROMIUM).exists():
        print("skipped: needs node, /usr/bin/chromium and "
              "`npm install --prefix benchmarks/.lighthouse lighthouse@12`")
        return
    with tempfile.TemporaryDirectory() as data_dir:
        path = seed(data_dir)
        port = free_port()
        proc = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "landing.py"),
                                 "--serve", str(port), data_dir],
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        results: dict[str, list[dict[str, float]]] = {"landing page": [],
                                                      "privacy notice (anchor)": []}
        try:
            wait_healthy(base, proc)
            for _ in range(args.runs):
                results["landing page"].append(audit(f"{base}{path}"))
                results["privacy notice (anchor)"].append(audit(f"{base}/p/bench/privacy"))
        finally:
            proc.terminate()
            proc.wait(20)
    print(f"Lighthouse (mobile profile, simulated throttling), median of {args.runs} runs, "
          f"Chromium {CHROMIUM}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
          "cores")
    print(f"{'page':26} {'perf':>5} {'a11y':>5} {'best':>5} {'seo':>5} {'LCP ms':>7} "
          f"{'TBT ms':>7}")
    for name, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"{name:26} {med['performance']:5.0f} {med['accessibility']:5.0f} "
              f"{med['best-practices']:5.0f} {med['seo']:5.0f} {med['lcp_ms']:7.0f} "
              f"{med['tbt_ms']:7.0f}")
    print("targets (issue #12): performance, accessibility, best practices >= 95; "
          "LCP <= 2,500 ms")


if __name__ == "__main__":
    main()
