"""``lodestone`` — the command line of the product. ``lodestone <command> --help`` for each.

Imports are lazy: each command imports what it needs (Dagster, chDB, the web stack) when
it runs, so ``--help`` and the small commands start fast (figures: benchmarks/cli.py).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernel.settings import Settings

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


def get_settings() -> Settings:
    from kernel.settings import get_settings as cached

    return cached()


def _cmd_init(args: argparse.Namespace) -> int:
    from lodestone.services import init_storage

    settings = get_settings()
    applied = init_storage(settings)
    print(f"storage ready in {settings.data_path} (warehouse migrations applied: {applied['warehouse'] or 'none'})")
    return 0


def _cmd_seed(args: argparse.Namespace) -> int:
    from lodestone.seed import seed_org
    from lodestone.services import init_storage, session_factory

    settings = get_settings()
    init_storage(settings)
    org = seed_org(session_factory(settings), settings.data_path, slug=args.slug, name=args.name)
    print(f"organization {org.slug} ({org.org_id})\n  site key: {org.site_key}\n  API key:  {org.api_key}")
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from kernel.warehouse import open_warehouse
    from lodestone.seed import seed_org
    from lodestone.services import init_storage, session_factory
    from lodestone.simulate import simulate

    settings = get_settings()
    init_storage(settings)
    sessions = session_factory(settings)
    orgs = [seed_org(sessions, settings.data_path)]
    orgs += [seed_org(sessions, settings.data_path, slug=f"sim-{i}", name=f"Simulated Org {i}")
             for i in range(2, args.orgs + 1)]
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    wh = open_warehouse(settings) if args.direct else None
    try:
        truth = simulate(orgs, args.visitors, args.days, seed=seed, warehouse=wh,
                         base_url=args.url, truth_dir=settings.data_path / "simulations")
    finally:
        if wh is not None:
            wh.close()
    for slug, t in truth.orgs.items():
        print(f"{slug}: {t['visitors']} visitors, {t['events']} events, "
              f"{t['event_counts'].get('lead', 0)} leads, revenue {t['revenue']:.2f}")
    print(f"ground truth: {settings.data_path / 'simulations' / f'truth-{seed}.json'}")
    return 0


def _cmd_materialize(args: argparse.Namespace) -> int:
    from lodestone.up import materialize_all

    result = materialize_all(args.assets or None)
    print("materialized" if result.success else "materialization failed")
    return 0 if result.success else 1


def _cmd_compact(args: argparse.Namespace) -> int:
    from kernel.warehouse import open_warehouse

    wh = open_warehouse(get_settings())
    try:
        print(wh.compact())
    finally:
        wh.close()
    return 0


def _schema_ready() -> bool:
    """Servers refuse to start on a database `lodestone init` has not (fully) migrated."""
    from kernel.crypto import master_key_problem
    from kernel.metadata.db import schema_problem

    problem = schema_problem(get_settings().resolved_metadata_url) \
        or master_key_problem(get_settings())
    if problem:
        print(f"lodestone: {problem}", file=sys.stderr)
    return problem is None


def _cmd_serve(args: argparse.Namespace) -> int:
    from lodestone.server import run_server

    if not _schema_ready():
        return 2
    return run_server("app_api.asgi:app", args.host, args.port, args.workers, args.server)


def _cmd_collector(args: argparse.Namespace) -> int:
    from lodestone.server import reexec_with_lean_allocators, run_server

    if not _schema_ready():
        return 2
    if sys.argv[1:] and "collector" in sys.argv[1:]:  # started from a command line
        reexec_with_lean_allocators(sys.argv[1:])
    from ingestion.app import prefork

    return run_server("ingestion.asgi:app", args.host, args.port, args.workers, args.server,
                      preload=prefork)


def _cmd_worker(args: argparse.Namespace) -> int:
    from jobs.worker import run_forever

    if not _schema_ready():
        return 2
    return run_forever(get_settings())


def _cmd_up(args: argparse.Namespace) -> int:
    from lodestone.up import up

    return up(check=args.check, visitors=args.visitors, keep_running=not args.check)


def build_parser() -> argparse.ArgumentParser:
    settings_help = "Settings come from LODESTONE_* environment variables (see docs/settings.md)."
    p = argparse.ArgumentParser(prog="lodestone", description=__doc__.split("\n\n")[0],
                                epilog=settings_help)
    verbose = "show library INFO/DEBUG lines on the console (they always go to <data dir>/logs)"
    p.add_argument("-v", "--verbose", action="store_true", help=verbose)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("up", help="initialize, seed demo data and run every service")
    s.add_argument("--check", action="store_true", help="start everything, verify, stop, exit 0/1")
    s.add_argument("--visitors", type=int, default=20000, help="demo visitors to simulate (first run)")
    s.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=verbose)
    s.set_defaults(func=_cmd_up)

    s = sub.add_parser("init", help="create the data directory and run all migrations")
    s.set_defaults(func=_cmd_init)

    s = sub.add_parser("seed", help="create an organization with a site, API key, magnets, experiment")
    s.add_argument("--slug", default="demo")
    s.add_argument("--name", default="Demo Growth Co")
    s.set_defaults(func=_cmd_seed)

    s = sub.add_parser("simulate", help="generate multi-touch traffic with a recorded ground truth")
    s.add_argument("--orgs", type=int, default=1, help="organizations (the demo org plus sim-N)")
    s.add_argument("--visitors", type=int, default=50000, help="visitors per organization")
    s.add_argument("--days", type=int, default=30, help="days of history")
    s.add_argument("--direct", action="store_true", help="write straight to the warehouse (bulk)")
    s.add_argument("--url", default="http://127.0.0.1:8000", help="collector URL (without --direct)")
    s.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    s.set_defaults(func=_cmd_simulate)

    s = sub.add_parser("materialize", help="materialize Dagster assets now, recorded in the Dagster instance (all by default)")
    s.add_argument("assets", nargs="*", help="asset keys to materialize")
    s.set_defaults(func=_cmd_materialize)

    s = sub.add_parser("worker", help="run durable jobs (builds, AI drafts) until stopped")
    s.set_defaults(func=_cmd_worker)

    s = sub.add_parser("compact", help="compact the embedded lake's small files")
    s.set_defaults(func=_cmd_compact)

    for name, func, what in (("serve", _cmd_serve, "API + collector"),
                             ("collector", _cmd_collector, "collector only")):
        s = sub.add_parser(name, help=f"run the {what} HTTP server")
        s.add_argument("--host", default=None, help="bind address (LODESTONE_API_HOST)")
        s.add_argument("--port", type=int, default=None, help="port (LODESTONE_API_PORT)")
        s.add_argument("--workers", type=int, default=1, help="worker processes")
        s.add_argument("--server", choices=("uvicorn", "granian"),
                       default="granian" if name == "collector" else "uvicorn",
                       help="HTTP server (granian measured faster for the collector: docs/tracking.md)")
        s.set_defaults(func=func)
    from content.cli import (
        add_commands as add_content_commands,  # magnet build|templates, brand check
    )
    add_content_commands(sub)
    from content.brand_cli import add_commands as add_brand_store_commands  # brand show|set

    add_brand_store_commands(sub)
    from privacy.cli import add_commands as add_privacy_commands  # privacy find|export|erase|scan

    add_privacy_commands(sub)

    from lodestone.keys_cli import add_commands as add_keys_commands  # keys rotate|check

    add_keys_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from kernel.logs import configure_logging
    from kernel.settings import SettingsError

    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.data_path / "logs", args.command, verbose=args.verbose)
    if getattr(args, "needs_schema", False) and not _schema_ready():
        return 2  # one line saying what to run, not a traceback from a missing table
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
