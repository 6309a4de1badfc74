"""Options for Alembic's model-vs-database comparison (autogenerate and the drift test)."""

from __future__ import annotations

from typing import Any

from alembic.runtime.migration import MigrationContext


def compare_server_default(
    context: MigrationContext,
    inspected_column: Any,
    metadata_column: Any,
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Return False for the empty-string default on SQLite, else defer to Alembic (None).

    Alembic's SQLite comparison strips quotes only from non-empty literals, so a column
    with ``server_default=''`` (reflected as ``('')``) is reported as changed every time.
    """
    if context.dialect.name == "sqlite" and _is_empty_literal(inspected_default):
        if _is_empty_literal(rendered_metadata_default):
            return False
    return None


def _is_empty_literal(text: str | None) -> bool:
    if text is None:
        return False
    stripped = text.strip()
    while stripped.startswith("(") and stripped.endswith(")"):
        stripped = stripped[1:-1].strip()
    return stripped in ("", "''")


#: ``context.configure(**COMPARE_OPTIONS)`` / ``MigrationContext.configure(opts=...)``.
COMPARE_OPTIONS: dict[str, Any] = {
    "compare_type": True,
    "compare_server_default": compare_server_default,
}
