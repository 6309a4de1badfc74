"""Collector benchmarks, each figure beside an anchor measured in the same run (a ratio).

    python benchmarks/ingest.py [--quick] [--runs 3] [--servers granian,uvicorn]

It prints the machine and its load, refuses to start while the machine is busy (1-minute
load average above 0.5 per core, after waiting up to --wait-idle seconds), and ends with
the median of --runs full runs and their spread: the figures the README quotes.

* pixel: wrk against ``GET /p.gif`` of the real collector (``lodestone collector``) and of a
  bare Starlette route returning the same GIF, same server and worker count, rounds
  interleaved; the ratio is the median of the per-round ratios.
* latency: the open-loop generator (benchmarks/loadgen.py) at 70 % of the collector's
  measured pixel rate; p50/p99 beside the bare route at the same rate.
* batch: wrk POSTing 100-event batches to ``/e`` (durability on: 2xx only after fsync), beside
  a bare route that only reads the same bodies; then the time until every acknowledged
  event is queryable in the embedded lake.
* memory: PSS (and RSS) of the collector's processes sampled during a 60 s (quick: 20 s) run.

All load goes to 127.0.0.1 only, bounded in count and time; servers are stopped at the end.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


async def _bare_pixel(request: Request) -> Response:
    return Response(GIF, headers={"Cache-Control": "no-store, max-age=0"}, media_type="image/gif")


async def _bare_batch(request: Request) -> Response:
    await request.body()
    return Response(b'{"accepted":100,"rejected":[]}', media_type="application/json")


# The anchor: what the same server does with no validation, enrichment or durability.
_starlette = Starlette(routes=[Route("/p.gif", _bare_pixel), Route("/e", _bare_batch, methods=["POST"])])
_floor: dict[str, Any] = {}
_GIF_START = {"type": "http.response.start", "status": 200, "headers": [
    (b"content-type", b"image/gif"), (b"cache-control", b"no-store, max-age=0"),
    (b"content-length", str(len(GIF)).encode())]}


async def anchor_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The bare Starlette routes, plus ``/f.gif``: the durability floor.

    ``/f.gif`` answers the same GIF as the collector does (a bare ASGI callable) after the
    collector's own spool has group-committed and fsync'd one constant event: what waiting
    for the disk costs before any parsing, validation or enrichment.
    """
    if scope["type"] == "http" and scope["path"] == "/f.gif":
        spool = _floor.get("spool")
        if spool is None:
            from ingestion.columns import rows_to_block
            from ingestion.spool import Spool
            from kernel.events import make_row

            spool = _floor["spool"] = Spool(Path(os.environ["BENCH_FLOOR_SPOOL"]))
            _floor["block"] = rows_to_block([make_row(org_id="floor")])
        await spool.submit(_floor["block"])
        await send(dict(_GIF_START))
        await send({"type": "http.response.body", "body": GIF})
        return
    await _starlette(scope, receive, send)

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server process group on 127.0.0.1 (stopped with SIGTERM, then SIGKILL)."""

    def __init__(self, argv: list[str], env: dict[str, str], health: str, log: Path) -> None:
        self.port = free_port()
        self.argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.health, self.env, self.log = health, env, log

    def __enter__(self) -> Server:
        self.fh = open(self.log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=self.fh,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        import httpx

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv} exited; see {self.log}")
            try:
                if httpx.get(f"{self.url}{self.health}", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{self.argv} not healthy; see {self.log}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-g", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def memory_mb(self) -> tuple[float, float]:
        """(RSS, PSS) summed over the server's processes, MB. RSS counts a page shared by
        the workers (copy-on-write after fork, libraries) once per process; PSS splits it
        among them, so its sum is what the server really holds."""
        rss = pss = 0
        for pid in self.pids():
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            r = re.search(r"^Rss:\s+(\d+) kB", rollup, re.M)
            p = re.search(r"^Pss:\s+(\d+) kB", rollup, re.M)
            rss += int(r.group(1)) if r else 0
            pss += int(p.group(1)) if p else 0
        return rss / 1024, pss / 1024

    def __exit__(self, *exc: object) -> None:
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.fh.close()


def wrk(url: str, seconds: float, connections: int, lua: Path | None = None) -> dict[str, float]:
    """One bounded wrk run; requests/s counts only 2xx answers."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "10s",
           "-H", f"User-Agent: {UA}"]
    if lua is not None:
        cmd += ["-s", str(lua)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 60).stdout
    total = int(re.search(r"(\d+) requests in ([\d.]+)s", out).group(1))  # type: ignore[union-attr]
    secs = float(re.search(r"requests in ([\d.]+)s", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    ok = total - (int(bad.group(1)) if bad else 0)
    return {"rps": ok / secs, "ok": ok, "non2xx": total - ok}


def interleaved(anchor_url: str, subject_url: str, rounds: int, seconds: float, conns: int,
                lua: Path | None = None) -> tuple[float, float, float, int]:
    """(anchor median rps, subject median rps, median per-round ratio, subject 2xx total)."""
    a, b, ratios, ok = [], [], [], 0
    for _ in range(rounds):
        ra = wrk(anchor_url, seconds, conns, lua)
        rb = wrk(subject_url, seconds, conns, lua)
        a.append(ra["rps"])
        b.append(rb["rps"])
        ok += int(rb["ok"])
        ratios.append(rb["rps"] / ra["rps"])
    return statistics.median(a), statistics.median(b), statistics.median(ratios), ok


def open_loop(port: int, path: str, rate: float, seconds: float, connections: int) -> dict[str, float]:
    """One open-loop run of ``benchmarks.loadgen`` in its own small process (not this one,
    whose large heap and engine threads would pause the reader and inflate latencies)."""
    import json

    cmd = [sys.executable, "-m", "benchmarks.loadgen", str(port), str(rate), str(seconds), path,
           "--connections", str(connections), "--header", f"User-Agent: {UA}"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return dict(json.loads(out.stdout))


def settle(server: Server, timeout: float = 120) -> None:
    """Wait until the collector has shipped its backlog, so the next run has the CPU to itself."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{server.url}/healthz", timeout=5).json().get("spool_segments") == 0:
                break
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    time.sleep(1.0)


def batch_body(site_key: str, n: int = 100) -> bytes:
    import json

    now = int(time.time() * 1000)
    events = [{"event": "pageview", "ts": now, "url": f"https://www.example.com/blog/post-{i}",
               "referrer": "https://www.google.com/", "visitor_id": f"v{i:06d}", "session_id": f"s{i}",
               "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring"}
              for i in range(n)]
    return json.dumps({"site": site_key, "events": events}).encode()


def load_per_core() -> float:
    return os.getloadavg()[0] / (os.cpu_count() or 1)


def wait_until_idle(limit: float, patience: float) -> float:
    """Wait (up to ``patience`` s) for the 1-minute load average per core to fall to ``limit``."""
    deadline = time.monotonic() + patience
    while load_per_core() > limit and time.monotonic() < deadline:
        time.sleep(5)
    return load_per_core()


def machine() -> str:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu or 'unknown CPU'}), {mem:.0f} GiB, Python {sys.version.split()[0]}"


def one_run(server: str, args: argparse.Namespace, env: dict[str, str], work: Path, org: Any,
            wh: Any, lua: Path, pixel_path: str, secs: float, rounds: int, mem_secs: float,
            run: int) -> dict[str, float]:
    """Every figure for one server, as a dict (printed as it is measured)."""
    py = sys.executable
    common = ["--workers", str(args.workers), "--server", server]
    anchor_cmd = [py, "-c", "import sys; from lodestone.server import run_server; "
                  f"sys.exit(run_server('ingest:anchor_app', '127.0.0.1', {{port}}, {args.workers}, '{server}'))"]
    collector_cmd = [py, "-m", "lodestone.cli", "collector", "--host", "127.0.0.1", "--port", "{port}", *common]
    fig: dict[str, float] = {}
    loads: list[float] = []
    print(f"\n## run {run}, {server}: `lodestone collector {' '.join(common)}` vs bare Starlette route "
          f"(load/core at start {load_per_core():.2f})")
    with Server(anchor_cmd, env, "/p.gif", work / f"anchor-{server}.log") as anchor, \
            Server(collector_cmd, env, "/healthz", work / f"collector-{server}.log") as col:
        wrk(anchor.url + pixel_path, 2, 64)  # warm both
        wrk(col.url + pixel_path, 2, 64)
        a, b, ratio, _ = interleaved(anchor.url + pixel_path, col.url + pixel_path, rounds, secs,
                                     args.connections)
        loads.append(load_per_core())
        fig.update(pixel_bare=a, pixel=b, pixel_ratio=ratio)
        print(f"pixel      bare {a:8.0f} req/s | collector {b:8.0f} req/s | ratio {ratio:.2f} (target >= 0.80)")
        settle(col)
        _, f, floor, _ = interleaved(anchor.url + pixel_path, anchor.url + "/f.gif", rounds, secs,
                                     args.connections)
        fig.update(floor=floor, over_floor=ratio / floor)
        print(f"floor      bare route waiting for a group-committed fsync, no other work: {f:8.0f} req/s "
              f"= {floor:.2f} x bare; the collector reaches {ratio / floor:.2f} x this floor")
        rate = 0.7 * b
        settle(col)
        lat_a = open_loop(anchor.port, pixel_path, rate, secs, args.connections)
        settle(col)
        lat_b = open_loop(col.port, pixel_path, rate, secs, args.connections)
        loads.append(load_per_core())
        fig.update(rate=rate, p99_bare_ms=lat_a["p99_s"] * 1e3, p50_ms=lat_b["p50_s"] * 1e3,
                   p99_ms=lat_b["p99_s"] * 1e3)
        print(f"latency    at {rate:.0f} req/s open loop: bare p50 {lat_a['p50_s']*1e3:.1f} ms "
              f"p99 {lat_a['p99_s']*1e3:.1f} ms | collector p50 {lat_b['p50_s']*1e3:.1f} ms "
              f"p99 {lat_b['p99_s']*1e3:.1f} ms (target p99 <= 20 ms; "
              f"{lat_b['completed']}/{lat_b['sent']} answered, {lat_b['non_2xx']} non-2xx)")
        settle(col)
        before = wh.count_events()
        a, b, ratio, ok = interleaved(anchor.url + "/e", col.url + "/e", rounds, secs,
                                      args.connections // 4, lua)
        loads.append(load_per_core())
        t_end = time.monotonic()
        expected = before + ok * 100
        while wh.count_events() < expected and time.monotonic() - t_end < 120:
            time.sleep(0.25)
        lag = time.monotonic() - t_end
        fig.update(batch_bare=a * 100, batch=b * 100, batch_ratio=ratio, lag_s=lag)
        print(f"batch      bare {a*100:8.0f} ev/s  | collector {b*100:8.0f} ev/s  | ratio {ratio:.2f} "
              f"(target >= 300k ev/s and >= 0.45); {ok*100} acknowledged events all queryable "
              f"{lag:.1f} s after the load stopped (lake has {wh.count_events() - before})")
        if server == args.servers.split(",")[0]:
            samples: list[tuple[float, float]] = []
            t0 = time.monotonic()
            while time.monotonic() - t0 < mem_secs:
                wrk(col.url + pixel_path, 5, 64)
                samples.append(col.memory_mb())
            fig.update(rss_first=samples[0][0], rss_last=samples[-1][0], pss_first=samples[0][1],
                       pss_last=samples[-1][1])
            print(f"memory     collector over {mem_secs:.0f}s of pixel load, PSS (shared pages counted "
                  f"once): " + " ".join(f"{s[1]:.0f}" for s in samples) + f" MB (target <= 300, "
                  f"growth {samples[-1][1] - samples[0][1]:+.0f} MB); RSS summed over processes "
                  f"(shared pages counted per process): {samples[0][0]:.0f} -> {samples[-1][0]:.0f} MB")
    fig["load_during"] = max(loads)
    print(f"load/core  during this run: {' '.join(f'{x:.2f}' for x in loads)}")
    return fig


SUMMARY = (  # (key, label, format)
    ("pixel_ratio", "pixel / bare route (>= 0.80)", "{:.2f}"),
    ("pixel", "pixel req/s", "{:,.0f}"),
    ("over_floor", "pixel / durability floor", "{:.2f}"),
    ("p99_ms", "pixel p99 at 70 % of max, ms (<= 20)", "{:.1f}"),
    ("p99_bare_ms", "bare route p99 at the same rate, ms", "{:.1f}"),
    ("batch", "batches of 100, events/s (>= 300k)", "{:,.0f}"),
    ("batch_ratio", "batches / bare bytes route (>= 0.45)", "{:.2f}"),
    ("pss_last", "memory, PSS of 2 workers, MB (<= 300)", "{:.0f}"),
    ("rss_last", "memory, RSS summed, MB", "{:.0f}"),
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs (about 3 minutes each)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--servers", default="granian", help="comma-separated: granian,uvicorn")
    ap.add_argument("--connections", type=int, default=256)
    ap.add_argument("--runs", type=int, default=3, help="full runs; the summary is their median")
    ap.add_argument("--max-load", type=float, default=0.5,
                    help="refuse to start while the 1-minute load average per core is above this")
    ap.add_argument("--wait-idle", type=float, default=180,
                    help="seconds to wait for the machine to become idle before refusing")
    ap.add_argument("--allow-busy", action="store_true",
                    help="run anyway on a busy machine (figures marked as not reportable)")
    args = ap.parse_args(argv)
    secs, rounds = (4, 3) if args.quick else (8, 5)
    mem_secs = 20 if args.quick else 60
    print(f"# python benchmarks/ingest.py {' '.join(argv or sys.argv[1:])}")
    print(f"# machine: {machine()}")
    load0 = wait_until_idle(args.max_load, args.wait_idle)
    print(f"# load average per core before start: {load0:.2f} (limit {args.max_load})")
    if load0 > args.max_load and not args.allow_busy:
        print(f"REFUSED: the machine is busy (load {load0:.2f} per core > {args.max_load}); figures "
              "measured now would not reproduce. Stop other work, or pass --allow-busy for a "
              "run that is not reportable.")
        return 3
    busy = load0 > args.max_load
    sys.path.insert(0, str(ROOT))
    from kernel.warehouse.lake_backend import LakeWarehouse
    from lodestone.seed import seed_org
    from lodestone.services import init_storage, session_factory
    from tests.helpers import child_env, make_settings

    work = Path(tempfile.mkdtemp(prefix="lodestone-bench-"))
    settings = make_settings(work / "data")
    init_storage(settings)
    org = seed_org(session_factory(settings), settings.data_path)
    env = child_env(settings, PYTHONPATH=f"{ROOT / 'benchmarks'}:{ROOT}",
                    # limits stay on (their cost is measured) but far above the offered load
                    LODESTONE_RATE_LIMIT_IP_RPS="1e9", LODESTONE_RATE_LIMIT_IP_BURST="1e9",
                    LODESTONE_RATE_LIMIT_ORG_EPS="1e9", LODESTONE_RATE_LIMIT_ORG_BURST="1e9",
                    BENCH_FLOOR_SPOOL=str(work / "floor-spool"))
    lua = work / "batch.lua"
    body = batch_body(org.site_key).decode()
    lua.write_text(f'wrk.method = "POST"\nwrk.body = [[{body}]]\nwrk.headers["Content-Type"] = "text/plain"\n')
    pixel_path = f"/p.gif?site={org.site_key}&event=pageview&url=https%3A%2F%2Fwww.example.com%2Fa&referrer=https%3A%2F%2Fwww.google.com%2F"
    print(f"# data: {work}; workers={args.workers}, wrk -t1 -c{args.connections}, {rounds} interleaved "
          f"rounds of {secs}s per figure, {args.runs} runs; load generator on the same cores")
    wh = LakeWarehouse(settings.lake_dir)
    for server in args.servers.split(","):
        runs = [one_run(server, args, env, work, org, wh, lua, pixel_path, secs, rounds, mem_secs, i + 1)
                for i in range(args.runs)]
        print(f"\n## {server}: median of {len(runs)} runs [min - max]"
              + ("  -- BUSY MACHINE, NOT REPORTABLE" if busy else ""))
        for key, label, fmt in SUMMARY:
            values = [r[key] for r in runs if key in r]
            if values:
                print(f"{label:42s} {fmt.format(statistics.median(values)):>10s}  "
                      f"[{fmt.format(min(values))} - {fmt.format(max(values))}]")
        print(f"{'max load/core during the runs':42s} {max(r['load_during'] for r in runs):10.2f}")
    wh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
