"""Alembic environment for the metadata DB, used by ``migrate()`` and by the Alembic CLI.

``migrate()`` hands over an open connection in ``config.attributes["connection"]``; the
CLI builds an engine from ``$LODESTONE_METADATA_URL``.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context

from kernel.metadata.autogen import COMPARE_OPTIONS
from kernel.metadata.db import URL_ENV, make_engine
from kernel.metadata.models import Base

config = context.config
target_metadata = Base.metadata

# Only the Alembic CLI configures logging from alembic.ini; migrate() (every start-up) keeps
# the caller's logging, so `lodestone init` does not print Alembic's INFO lines.
if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get(URL_ENV)
    if not url:
        raise RuntimeError(
            f"no metadata database URL: set {URL_ENV}, e.g. "
            f"{URL_ENV}=sqlite:///data/lodestone.db or "
            f"{URL_ENV}=postgresql+psycopg://user@127.0.0.1:5432/lodestone"
        )
    return url


def _run(connection: sa.Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode recreates tables (copy + drop + rename); with foreign keys on, the
        # drop would cascade deletes into child tables. Integrity is checked afterwards.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        # Take the write lock up front: concurrent migrators queue here (busy timeout) and
        # then find the database current, and a failed migration rolls back as a whole.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        **COMPARE_OPTIONS,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Serialize concurrent migrators of the same schema (released at commit).
            connection.execute(
                sa.text(
                    "SELECT pg_advisory_xact_lock("
                    "hashtext('lodestone.metadata.migrate.' || current_schema()))"
                )
            )
        context.run_migrations()
        if sqlite:
            violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if violations:
                raise RuntimeError(f"migration left foreign key violations: {violations[:10]}")


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade head --sql``)."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live database."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
