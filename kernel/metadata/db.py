"""Engines, sessions and migrations for the metadata database (SQLite or PostgreSQL).

No module-level connections: callers build an engine from settings and inject it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

if TYPE_CHECKING:
    from kernel.settings import Settings

#: Environment variable the Alembic CLI (``alembic -c kernel/metadata/alembic.ini``) reads.
URL_ENV = "LODESTONE_METADATA_URL"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
ALEMBIC_INI = Path(__file__).with_name("alembic.ini")

# Alembic publishes the running migration through module globals (``alembic.context``),
# so two threads of one process must not run it at once. Processes are serialized by
# the database itself (see migrations/env.py).
_ALEMBIC_LOCK = threading.Lock()


def make_engine(url: str | sa.URL, **kwargs: Any) -> Engine:
    """Create an engine for the metadata DB.

    SQLite: foreign keys on and WAL journal on every connection, ``check_same_thread``
    off (sessions move between threads in FastAPI/Dagster), the parent directory of the
    database file created; in-memory databases share one connection (``StaticPool``).
    PostgreSQL: ``pool_pre_ping`` so connections dropped by a server restart are replaced.

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:///data/lodestone.db`` or
            ``postgresql+psycopg://user@host:5432/db``.
        kwargs: Passed on to ``sqlalchemy.create_engine``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(parsed, **kwargs)


def _sqlite_engine(url: sa.URL, **kwargs: Any) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    connect_args = {"check_same_thread": False, **kwargs.pop("connect_args", {})}
    if in_memory:
        kwargs.setdefault("poolclass", StaticPool)
    elif not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
    sa.event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets readers (API, Dagster, Streamlit) run while one writer commits.
        # In-memory databases answer "memory" and stay as they are.
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


def make_session_factory(engine: Engine, settings: Settings | None = None) -> sessionmaker[Session]:
    """Session factory bound to ``engine``.

    ``expire_on_commit=False``: objects stay readable after commit, so a route can commit
    and then serialize what it wrote without another round trip. ``settings`` gives the
    master key that opens the personal data (kernel.crypto); without it the process-wide
    settings' one is used.
    """
    from kernel.metadata import revisions  # noqa: F401  (registers the config-revision bump)

    info = {}
    if settings is not None:
        from kernel.crypto import keyring_for_settings

        info["keyring"] = keyring_for_settings(settings)
    return sessionmaker(bind=engine, expire_on_commit=False, info=info)


def alembic_config() -> Config:
    """Alembic configuration pointing at ``kernel/metadata/migrations`` (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(url_or_engine: str | sa.URL | Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (``alembic upgrade head``); a no-op when current.

    Safe to call at every start-up. On PostgreSQL concurrent callers serialize on an
    advisory lock per schema, so two processes starting together do not race.
    """
    _with_alembic(url_or_engine, lambda config: command.upgrade(config, revision))


def downgrade(url_or_engine: str | sa.URL | Engine, revision: str) -> None:
    """Downgrade the database to ``revision`` (``"base"`` drops every table)."""
    _with_alembic(url_or_engine, lambda config: command.downgrade(config, revision))


def current_revision(engine: Engine) -> str | None:
    """Revision the database is at, or None for an empty (never migrated) database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """Newest revision shipped with the code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def schema_problem(url: str) -> str | None:
    """None when the database at ``url`` is at the code's head revision, else one line that
    says what is wrong and what to run (never a traceback: servers print it and exit)."""
    shown = make_url(url).render_as_string(hide_password=True)
    if url.startswith("sqlite") and not Path(make_url(url).database or "").exists():
        return f"no metadata database at {shown}; run `lodestone init` first"
    engine = make_engine(url)
    try:
        current = current_revision(engine)
    except sa.exc.SQLAlchemyError as exc:
        return f"cannot read the metadata database at {shown} ({exc.__class__.__name__}); " \
               "check LODESTONE_METADATA_URL, then run `lodestone init`"
    finally:
        engine.dispose()
    head = head_revision()
    if current == head:
        return None
    if current is None:
        return f"the metadata database at {shown} has no Lodestone schema; run `lodestone init`"
    script = ScriptDirectory.from_config(alembic_config())
    try:
        missing = list(script.iterate_revisions(head, current))
    except Exception:  # alembic raises several types for a revision it does not know
        return (f"the metadata database at {shown} is at revision {current}, which this "
                f"version of Lodestone does not know (newest here: {head}); upgrade Lodestone")
    names = ", ".join(f"{r.revision} ({(r.doc or '').splitlines()[0].rstrip('.')})"
                      for r in reversed(missing))
    return (f"the metadata database at {shown} is at revision {current}; this code needs "
            f"{head}. Missing migrations: {names}. Run `lodestone init` to apply them")


def _with_alembic(url_or_engine: str | sa.URL | Engine, run: Any) -> None:
    owned = not isinstance(url_or_engine, Engine)
    engine = make_engine(url_or_engine) if not isinstance(url_or_engine, Engine) else url_or_engine
    config = alembic_config()
    try:
        with _ALEMBIC_LOCK, engine.connect() as connection:
            try:
                with connection.begin():
                    config.attributes["connection"] = connection
                    run(config)
            finally:
                if connection.dialect.name == "sqlite":
                    _restore_sqlite_foreign_keys(connection)
    finally:
        if owned:
            engine.dispose()


def _restore_sqlite_foreign_keys(connection: sa.Connection) -> None:
    # env.py turns foreign keys off for batch migrations (recreating a table must not
    # cascade deletes); the pragma only takes effect outside a transaction, i.e. now.
    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
    enabled = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    connection.commit()
    if enabled != 1:
        connection.invalidate()  # never hand a connection without FK checks back to the pool
