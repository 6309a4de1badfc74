"""``lodestone privacy find|export|erase|scan|report``: data-subject rights and the
compliance report from the command line.

``find``, ``export`` and ``erase`` run in this process (no worker needed) and are recorded
and audited like the API's requests (actor ``system:cli``). ``scan`` is the operator's
proof: it exits 1 when the email or a visitor id is found in any file under the data
directory or any table of the metadata database or the warehouse, 0 when nothing is.
``report`` writes the compliance report (privacy.report) as a PDF or JSON file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_FOUND = 1
EXIT_USAGE = 2


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser("privacy", help="find, export or erase a person; scan for them")
    actions = p.add_subparsers(dest="privacy_command", required=True, metavar="ACTION")
    for name, help_ in (("find", "show a person's leads, visitor ids and records per store"),
                        ("export", "write everything about a person to a zip (JSON + CSV)"),
                        ("erase", "erase a person from every store, now")):
        s = actions.add_parser(name, help=help_)
        s.add_argument("--org", help="organization slug (default: the only one)")
        who = s.add_mutually_exclusive_group(required=True)
        who.add_argument("--email")
        who.add_argument("--lead-id")
        who.add_argument("--visitor-id")
        if name == "export":
            s.add_argument("--out", type=Path, required=True, help="archive to write (.zip)")
        s.set_defaults(func=_run, privacy_action=name, needs_schema=True)
    s = actions.add_parser("scan", help="exit 1 if the email or a visitor id is found in any "
                                        "file of the data directory or any table")
    s.add_argument("--email", help="the email to look for")
    s.add_argument("--visitor-id", action="append", default=[], help="a visitor id (repeat)")
    s.set_defaults(func=_scan, needs_schema=True)
    s = actions.add_parser("report", help="write the compliance report (record of processing, "
                                          "consent, requests, retention, recipients, security)")
    s.add_argument("--org", help="organization slug (default: the only one)")
    s.add_argument("--start", type=_date, help="first day, YYYY-MM-DD (default: 364 days "
                                               "before --end)")
    s.add_argument("--end", type=_date, help="last day, YYYY-MM-DD (default: today, UTC)")
    s.add_argument("--out", type=Path, required=True,
                   help="file to write: .pdf for the PDF document, .json for the data")
    s.set_defaults(func=_report, needs_schema=True)


def _date(value: str) -> Any:
    import datetime as dt

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _fail(message: str) -> int:
    sys.stderr.write(f"error: {message}\n")
    return EXIT_USAGE


def _org_id(sessions: Any, slug: str | None) -> str | None:
    """The organization named by ``--org`` (or the only one); None when there is none."""
    import sqlalchemy as sa

    from kernel.metadata.models import Organization

    with sessions() as s:
        stmt = sa.select(Organization.id)
        orgs = s.scalars(stmt.where(Organization.slug == slug) if slug
                         else stmt.limit(2)).all()
    return orgs[0] if len(orgs) == 1 else None


def _no_org(slug: str | None) -> int:
    return _fail(f"no organization {slug!r}" if slug
                 else "no organization, or several: pick one with --org SLUG")


def _run(args: argparse.Namespace) -> int:
    from kernel.errors import DomainError
    from kernel.metadata.audit import Actor
    from kernel.settings import get_settings
    from kernel.warehouse import open_warehouse
    from lodestone.services import session_factory
    from privacy import requests

    settings = get_settings()
    sessions = session_factory(settings)
    actor = Actor.system("cli")
    ident = {"email": args.email, "lead_id": args.lead_id, "visitor_id": args.visitor_id}
    org_id = _org_id(sessions, args.org)
    if org_id is None:
        return _no_org(args.org)
    wh = open_warehouse(settings)
    try:
        with sessions() as s:
            if args.privacy_action == "find":
                _out(json.dumps(requests.find(s, wh, settings, org_id, actor, **ident), indent=2))
                s.commit()
                return 0
            kind = "erase" if args.privacy_action == "erase" else "export"
            req = requests.request(s, org_id, actor, settings, kind, **ident)
            s.commit()
            request_id = req.id
        if kind == "erase":
            steps = requests.run_erasure(sessions, settings, request_id, wh)
            _out(json.dumps({"request_id": request_id, "rows": steps}, indent=2))
            return 0
        counts = requests.run_export(sessions, settings, request_id, wh)
        with sessions() as s:
            data = requests.download(s, org_id, actor, settings, request_id)
            s.commit()
        args.out.write_bytes(data)
        _out(json.dumps({"request_id": request_id, "archive": str(args.out),
                          "bytes": len(data), "counts": counts}, indent=2))
        return 0
    except DomainError as exc:
        return _fail(exc.message)
    finally:
        wh.close()


def _scan(args: argparse.Namespace) -> int:
    from kernel.metadata.db import make_engine
    from kernel.settings import get_settings
    from kernel.warehouse import WarehouseError, open_warehouse
    from privacy import scan

    needles = ([args.email] if args.email else []) + list(args.visitor_id)
    if not needles:
        return _fail("give --email and/or --visitor-id")
    settings = get_settings()
    hits = scan.scan_files(settings.data_path, needles)
    engine = make_engine(settings.resolved_metadata_url)
    try:
        hits += scan.scan_database(engine, needles)
    finally:
        engine.dispose()
    complete = True
    if settings.warehouse_url != "lake":  # the lake's files were read above
        try:
            wh = open_warehouse(settings)
            try:
                hits += scan.scan_warehouse(wh.client, needles)
            finally:
                wh.close()
        except (WarehouseError, RuntimeError) as exc:
            complete = False
            sys.stderr.write(f"warning: warehouse tables not scanned ({exc}); its files were\n")
    for h in hits:
        _out(f"FOUND  {h.where}  ({h.how})")
    if hits:
        return EXIT_FOUND
    _out(f"not found: {len(needles)} identifier(s), every file under {settings.data_path} "
          f"and every table{'' if complete else ' except the warehouse tables'}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from kernel.errors import DomainError
    from kernel.settings import get_settings
    from lodestone.services import session_factory
    from privacy import report, report_pdf

    suffix = args.out.suffix.lower()
    if suffix not in (".pdf", ".json"):
        return _fail(f"--out must end in .pdf or .json, not {args.out.name!r}")
    settings = get_settings()
    sessions = session_factory(settings)
    org_id = _org_id(sessions, args.org)
    if org_id is None:
        return _no_org(args.org)
    try:
        with sessions() as s:
            built = report.build(s, org_id, settings, args.start, args.end)
    except DomainError as exc:
        return _fail(exc.message)
    data = (report_pdf.pdf(built) if suffix == ".pdf"
            else json.dumps(built, indent=2, ensure_ascii=False).encode())
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(args.out)
    _out(json.dumps({"report": str(args.out), "bytes": len(data), "period": built["period"]}))
    return 0
