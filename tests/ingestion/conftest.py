"""Fixtures of the collector tests (see support.py)."""

from tests.ingestion.support import env  # noqa: F401 - the session-wide collector
