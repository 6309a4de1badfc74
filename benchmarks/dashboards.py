"""Dashboards: Overview's API calls over 10M events, roll-ups beside raw events; every page's
render time in headless Chromium beside a page that renders one static table.

    .venv/bin/python benchmarks/dashboards.py --events 10000000   # part 1 only (own lake)
    .venv/bin/lodestone up                                   # once, to create the demo data
    .venv/bin/python benchmarks/dashboards.py --data-dir .lodestone [--requests 10]

With ``--events``, part 1 writes that many simulated events of one organization into a lake
of its own (vectorised, cached in /tmp/lodestone-bench like benchmarks/pipelines.py), times
every Overview call over the raw events (no roll-ups: the anchor), materializes sessions and
the Overview roll-ups, times the same calls again and checks that both answers are equal.

Starts its own API (``lodestone serve``) and Streamlit on free ports over the data
directory (the demo of ``lodestone up``: org ``demo``, login owner@demo.example), so it can
run beside a running ``lodestone up``. Part 1 sends ``--requests`` sequential requests to
each Overview route, round-robin, and prints median and p95 with the ratio to /healthz's
median. Part 2 signs in with Chromium and clicks through every page, timing from the click
to the moment Streamlit reports the run finished with nothing stale; the anchor is a
one-``st.dataframe`` Streamlit page timed the same way in the same run.
Targets (issue #13): Overview calls median <= 200 ms; every page <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = ["Overview", "Magnets", "Experiments", "Funnels", "Cohorts", "Attribution", "ROI",
         "Explore", "Studio"]
DONE = ("() => { const a = document.querySelector('[data-testid=\"stApp\"]');"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'"
        " && !document.querySelector('[data-stale=\"true\"]'); }")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
TITLES = {"ROI": "Return on ad spend"}  # the page's h1 where it differs from its link
#: The page titled ``arg`` is on screen, the run finished and nothing is stale (a check
#: right after the click could still see the previous page finished).
ARRIVED = ("(title) => { const h = document.querySelector('[data-testid=\"stMain\"] h1');"
           " return h && h.innerText.trim() === title && (" + DONE + ")(); }")
ANCHOR = """import streamlit as st
st.title("Static table")
st.dataframe([{"channel": f"channel {i}", "visitors": i * 101, "leads": i * 7} for i in range(20)])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(url)


@contextmanager
def process(cmd: list[str], env: dict[str, str], health: str) -> Iterator[None]:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=None, start_new_session=True)
    try:
        wait(health, proc)
        yield
    finally:
        proc.terminate()
        proc.wait(30)


OVERVIEW = ["/v1/overview/summary", "/v1/overview/top?dimension=magnet",
            "/v1/overview/top?dimension=channel", "/v1/overview/top?dimension=landing_page",
            "/v1/overview/top?dimension=country", "/v1/overview/timeseries?granularity=minute",
            "/v1/overview/timeseries?granularity=day"]


def timed(base: str, key: str, routes: list[str], requests: int, warm_up: bool = True
          ) -> tuple[dict[str, list[float]], dict[str, object], dict[str, float]]:
    """Times of ``requests`` rounds over ``routes`` after a warm-up (its own times: the first
    call after a roll-up run, which fills the API's cache), and the last answers."""
    times: dict[str, list[float]] = {r: [] for r in routes}
    answers: dict[str, object] = {}
    first: dict[str, float] = {}
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=600) as client:
        for r in routes if warm_up else ():
            t = time.perf_counter()
            res = client.get(base + r)
            first[r] = (time.perf_counter() - t) * 1000
            res.raise_for_status()
            answers[r] = res.json()
        for _ in range(requests):
            for r in routes:
                t = time.perf_counter()
                res = client.get(base + r)
                times[r].append((time.perf_counter() - t) * 1000)
                res.raise_for_status()
                answers[r] = res.json()
    return times, answers, first


def comparable(answer: object) -> object:
    """An answer without what moves with the clock (as_of, the last 30 minutes)."""
    if isinstance(answer, dict):
        return {k: comparable(v) for k, v in answer.items()
                if k not in ("as_of", "last_30_minutes", "source", "start", "end")}
    if isinstance(answer, list):
        return [comparable(v) for v in answer]
    if isinstance(answer, float):
        return round(answer, 6)
    return answer


def rollup_part(events: int, requests: int, seed: int, raw_requests: int) -> None:
    """10M events: the Overview's calls over raw events, then over the roll-ups."""
    import importlib.util
    import shutil

    spec = importlib.util.spec_from_file_location("bench_pipelines", ROOT / "benchmarks" / "pipelines.py")
    assert spec and spec.loader
    pipes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pipes)
    root = Path("/tmp/lodestone-bench") / f"dash-{events}-s{seed}"
    if not (root / "bench.json").exists():
        info = pipes.generate(root, events, 1, 30, seed)
        from kernel.warehouse.lake_backend import LakeWarehouse

        with LakeWarehouse(root / "lake") as wh:  # as the 10-minute Dagster job does
            wh.compact(min_files=2)
        print(f"generated {info['events']:,} events in {info['generate_s']:.1f} s, "
              f"lake written in {info['write_s']:.1f} s (then compacted)")
    for model in ("overview_daily", "overview_landing_daily", "overview_channels_daily"):
        shutil.rmtree(root / "lake" / "models" / model, ignore_errors=True)
    info = json.loads((root / "bench.json").read_text())
    key = json.loads((root / "seeded_orgs.json").read_text())["demo"]["api_key"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LODESTONE_")}
    env.update(LODESTONE_DATA_DIR=str(root), LODESTONE_ENV="test",
               LODESTONE_SECRET_KEY="test-secret-0123456789abcdef",
               LODESTONE_API_RATE_LIMIT_PER_MINUTE="0")
    print(f"lake: {info['events']:,} events of one organization over 30 days in {root}; "
          f"load average {os.getloadavg()[0]:.1f}")
    with process([sys.executable, "-m", "lodestone.cli", "serve", "--port", str(port)], env,
                  f"{base}/healthz"):
        if not (root / "lake" / "models" / "sessions").exists():
            pipes.run(root, assets=[_asset("sessions")])
        raw_t, raw_a, _ = timed(base, key, ["/healthz", *OVERVIEW], raw_requests, warm_up=False)
        t0 = time.perf_counter()
        pipes.run(root, assets=[_asset(n) for n in ("overview_daily", "overview_landing_daily",
                                                     "overview_channels_daily")])
        build = time.perf_counter() - t0
        roll_t, roll_a, first = timed(base, key, ["/healthz", *OVERVIEW], requests)
        pipes.run(root, assets=[_asset("overview_daily")])  # the next run: a new version
        _, next_a, next_first = timed(base, key, OVERVIEW, 0)
    floor = statistics.median(roll_t["/healthz"])
    print(f"roll-ups built in {build:.1f} s (overview_daily, landing pages, channels); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("raw ms: median of the same call over raw events (the anchor); first ms: the first "
          "call after the roll-up run (fills the API's cache); roll-up ms: median of the next "
          f"{requests}; next ms: the first call after one more overview_daily run (answered "
          "from the previous run's cache plus the events since, the new one computed aside)")
    print(f"{'route':45} {'raw ms':>9} {'first ms':>9} {'roll-up ms':>11} {'p95 ms':>8} {'next ms':>8} "
          f"{'x raw':>6} {'x healthz':>10}")
    for r in OVERVIEW:
        raw, rolled = statistics.median(raw_t[r]), statistics.median(roll_t[r])
        p95 = sorted(roll_t[r])[max(0, int(len(roll_t[r]) * 0.95) - 1)]
        print(f"{r:45} {raw:9.1f} {first[r]:9.1f} {rolled:11.1f} {p95:8.1f} {next_first[r]:8.1f} "
              f"{rolled / raw:6.2f} {rolled / floor:10.1f}")
    stable = [r for r in OVERVIEW if "minute" not in r]  # minute buckets move with the clock
    same = [r for r in stable if comparable(raw_a[r]) == comparable(roll_a[r])
            == comparable(next_a[r])]
    print(f"answers equal over roll-ups (both runs) and raw events: {len(same)}/{len(stable)} routes"
          + ("" if len(same) == len(stable) else
             f" (differ: {sorted(set(stable) - set(same))})"))


def _asset(name: str) -> object:
    from orchestration.definitions import all_assets

    return next(a for a in all_assets if name in {k.to_user_string() for k in a.keys})


def api_part(base: str, key: str, requests: int) -> None:
    routes = ["/healthz", "/v1/overview/summary", "/v1/overview/top?dimension=magnet",
              "/v1/overview/top?dimension=channel", "/v1/overview/top?dimension=landing_page",
              "/v1/overview/top?dimension=country", "/v1/overview/timeseries?granularity=minute",
              "/v1/overview/timeseries?granularity=day"]
    times: dict[str, list[float]] = {r: [] for r in routes}
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        for r in routes:  # warm-up
            client.get(base + r).raise_for_status()
        for _ in range(requests):
            for r in routes:
                t = time.perf_counter()
                client.get(base + r).raise_for_status()
                times[r].append((time.perf_counter() - t) * 1000)
    floor = statistics.median(times["/healthz"])
    print(f"{'route':45} {'median ms':>10} {'p95 ms':>8} {'x healthz':>10}")
    for r, ts in times.items():
        med = statistics.median(ts)
        p95 = sorted(ts)[max(0, int(len(ts) * 0.95) - 1)]
        print(f"{r:45} {med:10.1f} {p95:8.1f} {med / floor:10.1f}")


def browser_part(dash: str, anchor: str, email: str, password: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        anchors = []
        for _ in range(3):
            t = time.perf_counter()
            page.goto(anchor)
            page.wait_for_selector('[data-testid="stDataFrame"]', timeout=60_000)
            page.wait_for_function(DONE, timeout=60_000)
            anchors.append(time.perf_counter() - t)
        page.goto(dash)
        page.get_by_role("textbox", name="Email", exact=True).fill(email)
        page.get_by_role("textbox", name="Password", exact=True).fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector('[data-testid="stSidebarNav"]', timeout=60_000)
        page.wait_for_function(DONE, timeout=60_000)
        results: dict[str, list[float]] = {n: [] for n in PAGES}
        for _ in range(2):  # the first round fills the per-organization cache
            for name in PAGES[1:] + PAGES[:1]:  # from Overview (signed in) round to it
                t = time.perf_counter()
                page.get_by_role("link", name=name, exact=True).first.click()
                page.wait_for_function(ARRIVED, arg=TITLES.get(name, name), timeout=60_000,
                                       polling=20)
                results[name].append(time.perf_counter() - t)
        browser.close()
    a = statistics.median(anchors)
    print(f"\nanchor (one static table, full load): {a:.2f} s")
    print(f"{'page':14} {'cold s':>7} {'warm s':>7} {'cold/anchor':>12}")
    for name, (cold, warm) in results.items():
        print(f"{name:14} {cold:7.2f} {warm:7.2f} {cold / a:12.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=".lodestone")
    ap.add_argument("--requests", type=int, default=10)
    ap.add_argument("--org", default="demo")
    ap.add_argument("--events", type=int, default=0,
                    help="part 1 only, over this many simulated events in a lake of its own")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--raw-requests", type=int, default=1,
                    help="part 1: calls per route over raw events (each takes 10-100 s at 10M)")
    args = ap.parse_args()
    if args.events:
        rollup_part(args.events, args.requests, args.seed, args.raw_requests)
        return
    data = Path(args.data_dir).resolve()
    seeded = json.loads((data / "seeded_orgs.json").read_text())[args.org]
    api_port, dash_port, anchor_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LODESTONE_")}
    env.update(LODESTONE_DATA_DIR=str(data), LODESTONE_API_URL=f"http://127.0.0.1:{api_port}",
               LODESTONE_API_RATE_LIMIT_PER_MINUTE="0")
    base = f"http://127.0.0.1:{api_port}"
    py = sys.executable
    streamlit = [py, "-m", "streamlit", "run"]
    flags = ["--server.headless", "true", "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false"]
    with tempfile.TemporaryDirectory() as tmp:
        anchor_file = Path(tmp) / "anchor.py"
        anchor_file.write_text(ANCHOR)
        with process([py, "-m", "lodestone.cli", "serve", "--port", str(api_port)], env, f"{base}/healthz"):
            truth = data / "simulations" / "latest.json"
            events = json.loads(truth.read_text())["orgs"].get(args.org, {}).get("events", "?") \
                if truth.exists() else "?"
            print(f"data: {data}  org {args.org}  simulated events: {events}")
            api_part(base, seeded["api_key"], args.requests)
            with process([*streamlit, str(ROOT / "dashboards" / "app.py"), "--server.port", str(dash_port), *flags],
                         env, f"http://127.0.0.1:{dash_port}/_stcore/health"), \
                 process([*streamlit, str(anchor_file), "--server.port", str(anchor_port), *flags],
                         env, f"http://127.0.0.1:{anchor_port}/_stcore/health"):
                browser_part(f"http://127.0.0.1:{dash_port}", f"http://127.0.0.1:{anchor_port}",
                             f"owner@{args.org}.example", "lodestone-demo")


if __name__ == "__main__":
    main()
