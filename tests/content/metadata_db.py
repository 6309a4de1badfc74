"""A migrated metadata database for the content AI/quality tests, and organizations in it."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kernel.metadata import Organization, make_engine, make_session_factory, migrate
from tests.metadata_db import sqlite_url


def migrated_sqlite(directory: Path) -> tuple[Engine, sessionmaker[Session]]:
    """A SQLite metadata database migrated to head, and its session factory."""
    engine = make_engine(sqlite_url(directory / "metadata.db"))
    migrate(engine)
    return engine, make_session_factory(engine)


def new_org(factory: sessionmaker[Session], settings: dict | None = None) -> str:
    """Create an organization of its own for one test; returns its id."""
    with factory.begin() as session:
        org = Organization(name="Acme", slug=f"acme-{uuid.uuid4().hex[:10]}", settings=settings or {})
        session.add(org)
        session.flush()
        return org.id
