"""``lodestone brand show|set FILE``: an organization's stored brand kit, without a server.

Beside the library's ``lodestone brand check FILE`` (content/cli.py), these read and write
the kit in the metadata database through content/brand_kits.py, so the API, builds and the
CLI see one kit. ``--org`` picks the organization by slug (optional when there is one).
A refused kit (contrast, font, logo) exits 2 with the library's message; nothing is saved.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_USAGE = 2


def add_commands(subparsers: Any) -> None:
    """Add ``show`` and ``set`` to the ``brand`` command (created if content/cli.py has not)."""
    brand = subparsers.choices.get("brand") or subparsers.add_parser("brand", help="brand kits")
    actions = next((a for a in brand._actions if isinstance(a, argparse._SubParsersAction)), None)
    if actions is None:
        actions = brand.add_subparsers(dest="brand_command", required=True, metavar="ACTION")
    s = actions.add_parser("show", help="print the organization's stored brand kit as JSON")
    s.add_argument("--org", help="organization slug (default: the only one)")
    s.set_defaults(func=_cmd_show, needs_schema=True)
    s = actions.add_parser("set", help="validate a brand kit YAML/JSON file and store it")
    s.add_argument("file", type=Path)
    s.add_argument("--org", help="organization slug (default: the only one)")
    s.set_defaults(func=_cmd_set, needs_schema=True)


def _fail(message: str) -> int:
    sys.stderr.write(f"error: {message}\n")
    return EXIT_USAGE


def _org_id(session: Any, slug: str | None) -> str | None:
    import sqlalchemy as sa

    from kernel.metadata.models import Organization

    if slug:
        return session.scalar(sa.select(Organization.id).where(Organization.slug == slug))
    ids = session.scalars(sa.select(Organization.id).limit(2)).all()
    return ids[0] if len(ids) == 1 else None


def _sessions() -> Any:
    from kernel.settings import get_settings
    from lodestone.services import session_factory

    return get_settings(), session_factory(get_settings())


def _cmd_show(args: argparse.Namespace) -> int:
    from content.artifacts import ArtifactStore
    from content.brand_kits import get_record

    settings, sessions = _sessions()
    with sessions() as session:
        org_id = _org_id(session, args.org)
        if org_id is None:
            return _fail("name the organization with --org SLUG (none, or several, exist)")
        row = get_record(session, org_id)
        out: dict[str, Any] = {"version": row.version if row else 0,
                               "kit": row.kit if row else None}
        if row and row.logo_sha256:
            size = len(ArtifactStore.from_settings(settings).read(row.logo_sha256))
            out["logo"] = {"media_type": row.logo_media_type, "sha256": row.logo_sha256,
                           "size": size}
    sys.stdout.write(json.dumps(out, indent=2, sort_keys=True) + "\n")
    return 0


def _cmd_set(args: argparse.Namespace) -> int:
    from content.artifacts import ArtifactStore
    from content.brand import BrandError, load_brand
    from content.brand_kits import BrandKitError, save_kit, set_logo
    from kernel.metadata.audit import Actor

    try:
        kit = load_brand(args.file)
    except BrandError as exc:
        return _fail(str(exc).splitlines()[0])
    settings, sessions = _sessions()
    actor = Actor.system("cli")
    with sessions() as session:
        org_id = _org_id(session, args.org)
        if org_id is None:
            return _fail("name the organization with --org SLUG (none, or several, exist)")
        try:
            row = save_kit(session, org_id, actor, kit.model_dump(mode="json", exclude={"logo"}))
            if kit.logo is not None:
                row = set_logo(session, org_id, actor, kit.logo.data,
                               ArtifactStore.from_settings(settings))
        except BrandKitError as exc:
            session.rollback()
            return _fail(exc.message)
        session.commit()
        logo = f", logo {row.logo_media_type}" if row.logo_sha256 else ""
        sys.stdout.write(f"brand kit '{kit.name}' stored (version {row.version}{logo})\n")
    return 0
