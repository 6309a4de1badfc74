"""Test helpers for the metadata DB, reusable from any test folder.

PostgreSQL tests share one database (``test`` on 127.0.0.1), so each test run gets its
own schema: ``postgres_schema_url`` creates ``lodestone_test_<random>``, yields a URL
whose connections use only that schema (``search_path``; Alembic's version table lands
there too), and drops the schema with everything in it afterwards.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


def sqlite_url(path: str | Path) -> str:
    """SQLAlchemy URL for a SQLite file."""
    return f"sqlite:///{Path(path)}"


def postgres_unavailable_reason(base_url: str = DEFAULT_POSTGRES_URL) -> str | None:
    """None if PostgreSQL at ``base_url`` accepts a connection, else why not."""
    engine = sa.create_engine(base_url, connect_args={"connect_timeout": 3}, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure means "not usable here"; the reason is reported
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL not reachable at {make_url(base_url)!r}: {first_line}"
    finally:
        engine.dispose()
    return None


def schema_url(base_url: str, schema: str) -> str:
    """``base_url`` with every connection's ``search_path`` set to ``schema`` only."""
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@contextmanager
def postgres_schema_url(
    base_url: str = DEFAULT_POSTGRES_URL, *, prefix: str = "lodestone_test"
) -> Iterator[str]:
    """Create a fresh schema, yield a URL bound to it, then ``DROP SCHEMA ... CASCADE``.

    Args:
        base_url: PostgreSQL URL of the shared test database.
        prefix: Schema name prefix; a random suffix is appended.

    Yields:
        A SQLAlchemy URL string usable by ``make_engine``/``migrate`` and by subprocesses.
        Dispose engines made from it before the block ends, or the drop waits on them.
    """
    schema = f"{prefix}_{secrets.token_hex(6)}"
    if not _IDENTIFIER.match(schema):
        raise ValueError(f"schema name {schema!r} is not a plain lowercase identifier")
    admin = sa.create_engine(base_url, poolclass=sa.NullPool)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield schema_url(base_url, schema)
        finally:
            with admin.begin() as connection:
                connection.execute(sa.text("SET LOCAL lock_timeout = '30s'"))
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()
