"""``lodestone up``: the whole product on the embedded default, with demo data."""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import httpx

import dashboards
from experiments.autopilot import promotion_round
from kernel.logs import CONSOLE
from kernel.settings import get_settings, settings_env
from kernel.warehouse import open_warehouse
from lodestone.page_traffic import PageVisitors, max_posts_per_round
from lodestone.seed import SeededOrg, seed_org
from lodestone.services import (
    Child,
    Supervisor,
    dagster_home,
    init_storage,
    session_factory,
    venv_bin,
)
from lodestone.simulate import generate, send_http, simulate

if TYPE_CHECKING:
    from dagster import ExecuteInProcessResult

log = logging.getLogger(__name__)
console = logging.getLogger(CONSOLE)


def materialize_all(selection: Sequence[str] | None = None) -> ExecuteInProcessResult:
    """Materialize assets now, in this process, recorded in the product's Dagster instance.

    The run and its materializations appear on Dagster's Runs and asset pages like the
    daemon's own runs (``DAGSTER_HOME``, else the data directory's instance).
    """
    from dagster import DagsterInstance, materialize

    from orchestration.definitions import all_assets, all_checks
    from orchestration.resources import MetadataResource, WarehouseResource

    home = os.environ.get("DAGSTER_HOME") or str(dagster_home(get_settings()))
    # Dagster's console logger prints every step at DEBUG; the run's own log (in the
    # instance, on the Runs page) keeps all of it. -v shows it on the console again.
    level = "DEBUG" if logging.getLogger().isEnabledFor(logging.DEBUG) else "WARNING"
    with DagsterInstance.from_config(home) as instance:
        return materialize(
            [*all_assets, *all_checks],  # type: ignore[list-item]
            resources={"warehouse": WarehouseResource(), "metadata": MetadataResource()},
            instance=instance, raise_on_error=False, selection=selection,
            tags={"lodestone/launched_by": "cli"},
            run_config={"loggers": {"console": {"config": {"log_level": level}}}},
        )


class PromotionWatch:
    """One console line per promotion the Dagster sensor decides while ``up`` runs."""

    def __init__(self, sessions: Any) -> None:
        self.sessions = sessions
        self.since = dt.datetime.now(dt.UTC)
        self.seen: set[str] = set()

    def poll(self) -> list[str]:
        from sqlalchemy import select

        from kernel.metadata.models import AuditLog

        lines = []
        with self.sessions() as session:
            rows = session.scalars(select(AuditLog).where(
                AuditLog.action == "experiment.promoted", AuditLog.created_at >= self.since)
                .order_by(AuditLog.created_at)).all()
            for row in rows:
                if row.id in self.seen:
                    continue
                self.seen.add(row.id)
                after = row.after or {}
                line = (f"experiment {after.get('key', row.resource_id)}: promoted "
                        f"{after.get('winner')} (by {row.actor})")
                console.info(line)
                lines.append(line)
        return lines


class _Stop(Exception):
    pass


LIVE_VISITORS = 25  # simulated visitors per round sent to the collector's /v1/events
PAGE_VISITORS = 4  # of them, visitors per round who load the real landing pages
LIVE_EVERY_S = 15.0


def _live_traffic(org: SeededOrg, api: str, stop: threading.Event, pages: PageVisitors,
                  min_fill_s: float, every_s: float = LIVE_EVERY_S) -> None:
    """Keep a trickle of simulated visitors flowing: most as events through the collector
    over HTTP, a few through the real landing pages, opt-in forms and confirm links."""
    rng = random.Random()
    while not stop.wait(every_s):
        try:
            rows, _ = generate(org, LIVE_VISITORS - PAGE_VISITORS, 1, rng,
                               int(time.time() * 1000))
            send_http(rows, api, org.api_key)
            pages.round(PAGE_VISITORS, stop.wait, min_fill_s)
        except Exception as exc:  # the demo goes on; the log says why
            log.warning("live traffic: %s", exc)


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop()


def up(*, check: bool = False, visitors: int = 20000, keep_running: bool = True) -> int:
    """Initialize, seed, simulate a month (first run only), start every service, print URLs."""
    settings = get_settings()
    t0 = time.monotonic()
    init_storage(settings)
    org = seed_org(session_factory(settings), settings.data_path)
    wh = open_warehouse(settings)
    try:
        if wh.count_events(org.org_id) == 0:
            print(f"simulating 30 days of traffic for {visitors} visitors ...", flush=True)
            simulate([org], visitors, 30, seed=20261129, warehouse=wh,
                     truth_dir=settings.data_path / "simulations")
    finally:
        wh.close()
    os.environ["DAGSTER_HOME"] = str(dagster_home(settings))  # runs show up in the Dagster UI
    print("materializing the analytics assets ...", flush=True)
    if not materialize_all().success:
        print("warning: some assets failed to materialize; see the Dagster UI", file=sys.stderr)
    wh = open_warehouse(settings)
    try:
        with session_factory(settings)() as session:
            for o in promotion_round(wh, session):
                verdict = f"promoted {o.winner}" if o.promoted else "not promoted: " + "; ".join(o.reasons)[:160]
                print(f"  experiment {o.experiment_key}: {verdict}", flush=True)
    finally:
        wh.close()

    env = settings_env(settings)
    # One Prometheus directory for the API and the Dagster daemon: the API's /metrics also
    # shows the daemon's counters (promotion decisions, failed schedule/sensor ticks).
    prom = settings.data_path / "prometheus"
    prom.mkdir(parents=True, exist_ok=True)
    for stale in prom.glob("*.db"):
        stale.unlink()
    env.update(
        PROMETHEUS_MULTIPROC_DIR=str(prom),
        DAGSTER_HOME=str(dagster_home(settings)),
        DAGSTER_DISABLE_TELEMETRY="1",
        LODESTONE_API_URL=f"http://127.0.0.1:{settings.api_port}",
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
    )
    sup = Supervisor(env, settings.data_path / "logs")
    api = f"http://127.0.0.1:{settings.api_port}"
    py = sys.executable
    sup.start(Child("api", [py, "-m", "lodestone.cli", "serve"], f"{api}/healthz"))
    sup.start(Child("dagster-webserver", [venv_bin("dagster-webserver"), "-h", "127.0.0.1", "-p", str(settings.dagster_port),
                                          "-m", "orchestration.definitions"], f"http://127.0.0.1:{settings.dagster_port}/server_info"))
    sup.start(Child("dagster-daemon", [venv_bin("dagster-daemon"), "run", "-m", "orchestration.definitions"]))
    sup.start(Child("dashboard", [venv_bin("streamlit"), "run", str(Path(dashboards.__file__).with_name("app.py")), "--server.port", str(settings.dashboard_port),
                                  "--server.address", "127.0.0.1", "--server.headless", "true",
                                  "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
                                  "--client.showErrorDetails", "type"], f"http://127.0.0.1:{settings.dashboard_port}/_stcore/health"))
    old_int = signal.signal(signal.SIGINT, _raise_stop)
    old_term = signal.signal(signal.SIGTERM, _raise_stop)
    code = 0
    stop_traffic = threading.Event()
    try:
        sup.wait_healthy(timeout=180)
        pages = PageVisitors(api, session_factory(settings), org, rng=random.Random(),
                             max_posts=max_posts_per_round(settings.optin_per_minute,
                                                           LIVE_EVERY_S))
        traffic = threading.Thread(target=_live_traffic, daemon=True, args=(
            org, api, stop_traffic, pages, settings.optin_min_fill_s))
        traffic.start()
        landing = "\n                 ".join(f"{api}/m/{org.slug}/{m.slug}" for m in org.magnets)
        stats = httpx.get(f"{api}/v1/stats/daily-magnet-metrics",
                          headers={"Authorization": f"Bearer {org.api_key}"}, timeout=30).json()
        print(
            f"\nLodestone is up ({time.monotonic() - t0:.0f}s).\n"
            f"  Dashboard      http://127.0.0.1:{settings.dashboard_port}\n"
            f"  API + docs     {api}/docs\n"
            f"  Collector      {api}/p.gif  {api}/e  {api}/s.js\n"
            f"  Dagster        http://127.0.0.1:{settings.dagster_port}\n"
            f"  Demo API key   {org.api_key}\n"
            f"  Site key       {org.site_key}\n"
            f"  Demo login     owner@{org.slug}.example / lodestone-demo\n"
            f"  Last 30 days:  {int(stats['totals']['views'])} magnet views, "
            f"{int(stats['totals']['leads'])} leads\n"
            f"  Landing pages  {landing}\n"
            f"  Live traffic:  {LIVE_VISITORS} simulated visitors every {LIVE_EVERY_S:.0f} s, "
            f"{PAGE_VISITORS} of them through the landing pages\n"
            f"                 (opt-in, confirm link from the mail outbox, download)\n"
            f"  Logs in {sup.log_dir} (-v shows them here); below: warnings, errors and\n"
            f"  promotions only. Press Ctrl-C to stop everything.", flush=True)
        if check:
            if stats["totals"]["leads"] <= 0:
                print("check failed: the API returned no leads", file=sys.stderr)
                code = 1
        watch = PromotionWatch(session_factory(settings))
        polled = time.monotonic()
        while keep_running:
            if time.monotonic() - polled > 10:
                polled = time.monotonic()
                try:
                    watch.poll()
                except Exception as exc:  # the product goes on; the log says why
                    log.warning("promotion watch: %s", exc)
            dead = sup.poll_dead()
            if dead is not None:
                print(f"{dead.name} exited unexpectedly; see {dead.log_path}", file=sys.stderr)
                code = 1
                break
            time.sleep(1)
    except _Stop:
        print("\nstopping ...", flush=True)
    except RuntimeError as exc:
        print(f"start-up failed: {exc}", file=sys.stderr)
        code = 1
    finally:
        stop_traffic.set()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
        sup.stop()
        print("all services stopped.", flush=True)
    return code
