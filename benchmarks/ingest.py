"""Collector benchmarks, each figure beside an anchor measured in the same run (a ratio).

    python benchmarks/ingest.py [--quick] [--workers 2] [--servers uvicorn,granian]

* pixel: wrk against ``GET /p.gif`` of the real collector (``lodestone collector``) and of a
  bare Starlette route returning the same GIF, same server and worker count, rounds
  interleaved; the ratio is the median of the per-round ratios.
* latency: the open-loop generator (benchmarks/loadgen.py) at 70 % of the collector's
  measured pixel rate; p50/p99 beside the bare route at the same rate.
* batch: wrk POSTing 100-event batches to ``/e`` (durability on: 2xx only after fsync), beside
  a bare route that only reads the same bodies; then the time until every acknowledged
  event is queryable in the embedded lake.
* memory: resident set of the collector's processes sampled during a 60 s (quick: 20 s) run.

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

    def rss_mb(self) -> float:
        total = 0
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except FileNotFoundError:
                continue
            m = re.search(r"VmRSS:\s+(\d+) kB", status)
            total += int(m.group(1)) if m else 0
        return total / 1024

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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs (about 3 minutes)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--servers", default="uvicorn,granian")
    ap.add_argument("--connections", type=int, default=256)
    args = ap.parse_args(argv)
    secs, rounds = (4, 3) if args.quick else (8, 5)
    mem_secs = 20 if args.quick else 60
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
    py = sys.executable
    print(f"# python benchmarks/ingest.py {' '.join(argv or sys.argv[1:])}  (data: {work})")
    print(f"# workers={args.workers}, wrk -t1 -c{args.connections}, {rounds} interleaved rounds of {secs}s; "
          f"load generator on the same {os.cpu_count()} cores")
    wh = LakeWarehouse(settings.lake_dir)
    for server in args.servers.split(","):
        common = ["--workers", str(args.workers), "--server", server]
        anchor_cmd = [py, "-c", "import sys; from lodestone.server import run_server; "
                      f"sys.exit(run_server('ingest:anchor_app', '127.0.0.1', {{port}}, {args.workers}, '{server}'))"]
        collector_cmd = [py, "-m", "lodestone.cli", "collector", "--host", "127.0.0.1", "--port", "{port}", *common]
        print(f"\n## {server}: `lodestone collector {' '.join(common)}` vs bare Starlette route")
        with Server(anchor_cmd, env, "/p.gif", work / f"anchor-{server}.log") as anchor, \
                Server(collector_cmd, env, "/healthz", work / f"collector-{server}.log") as col:
            wrk(anchor.url + pixel_path, 2, 64)  # warm both
            wrk(col.url + pixel_path, 2, 64)
            a, b, ratio, _ = interleaved(anchor.url + pixel_path, col.url + pixel_path, rounds, secs,
                                         args.connections)
            print(f"pixel      bare {a:8.0f} req/s | collector {b:8.0f} req/s | ratio {ratio:.2f} (target >= 0.80)")
            settle(col)
            _, f, floor, _ = interleaved(anchor.url + pixel_path, anchor.url + "/f.gif", rounds, secs,
                                         args.connections)
            print(f"floor      bare route waiting for a group-committed fsync, no other work: {f:8.0f} req/s "
                  f"= {floor:.2f} x bare; the collector reaches {ratio / floor:.2f} x this floor")
            rate = 0.7 * b
            settle(col)
            lat_a = open_loop(anchor.port, pixel_path, rate, secs, args.connections)
            settle(col)
            lat_b = open_loop(col.port, pixel_path, rate, secs, args.connections)
            print(f"latency    at {rate:.0f} req/s open loop: bare p50 {lat_a['p50_s']*1e3:.1f} ms "
                  f"p99 {lat_a['p99_s']*1e3:.1f} ms | collector p50 {lat_b['p50_s']*1e3:.1f} ms "
                  f"p99 {lat_b['p99_s']*1e3:.1f} ms (target p99 <= 20 ms; "
                  f"{lat_b['completed']}/{lat_b['sent']} answered, {lat_b['non_2xx']} non-2xx)")
            settle(col)
            before = wh.count_events()
            a, b, ratio, ok = interleaved(anchor.url + "/e", col.url + "/e", rounds, secs,
                                          args.connections // 4, lua)
            t_end = time.monotonic()
            expected = before + ok * 100
            while wh.count_events() < expected and time.monotonic() - t_end < 120:
                time.sleep(0.25)
            lag = time.monotonic() - t_end
            print(f"batch      bare {a*100:8.0f} ev/s  | collector {b*100:8.0f} ev/s  | ratio {ratio:.2f} "
                  f"(target >= 200k ev/s); {ok*100} acknowledged events all queryable "
                  f"{lag:.1f} s after the load stopped (lake has {wh.count_events() - before})")
            if server == args.servers.split(",")[0]:
                samples = []
                t0 = time.monotonic()
                while time.monotonic() - t0 < mem_secs:
                    wrk(col.url + pixel_path, 5, 64)
                    samples.append(col.rss_mb())
                print(f"memory     collector RSS over {mem_secs}s of pixel load: "
                      + " ".join(f"{s:.0f}" for s in samples) + f" MB (first {samples[0]:.0f}, "
                      f"last {samples[-1]:.0f}, growth {samples[-1] - samples[0]:+.0f} MB)")
    wh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
