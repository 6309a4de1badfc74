"""Dagster resources, chosen by settings: the warehouse and the metadata database."""


from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource
from sqlalchemy.orm import Session

from kernel.metadata.db import make_engine, make_session_factory
from kernel.settings import get_settings, load_settings
from kernel.warehouse import Warehouse, open_warehouse


class WarehouseResource(ConfigurableResource):  # type: ignore[type-arg]
    """The ClickHouse warehouse (embedded lake by default); empty fields mean 'from settings'."""

    warehouse_url: str = ""
    data_dir: str = ""

    @contextmanager
    def open(self) -> Iterator[Warehouse]:
        overrides = {k: v for k, v in (("warehouse_url", self.warehouse_url),
                                       ("data_dir", self.data_dir)) if v}
        settings = load_settings(**overrides) if overrides else get_settings()
        wh = open_warehouse(settings)
        try:
            yield wh
        finally:
            wh.close()


class MetadataResource(ConfigurableResource):  # type: ignore[type-arg]
    """The metadata database (SQLite by default, PostgreSQL in production)."""

    metadata_url: str = ""

    @contextmanager
    def session(self) -> Iterator[Session]:
        url = self.metadata_url or get_settings().resolved_metadata_url
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as s:
                yield s
        finally:
            engine.dispose()
