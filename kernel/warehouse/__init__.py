"""Warehouse access: one ClickHouse SQL dialect on a server, a chDB directory or the lake."""

from __future__ import annotations

from kernel.settings import Settings
from kernel.warehouse.base import Warehouse, WarehouseError


def open_warehouse(settings: Settings) -> Warehouse:
    """The warehouse chosen by ``LODESTONE_WAREHOUSE_URL``."""
    if settings.warehouse_url == "lake":
        from kernel.warehouse.lake_backend import LakeWarehouse

        return LakeWarehouse(settings.lake_dir)
    from kernel.warehouse.clickhouse_backend import ClickHouseWarehouse

    return ClickHouseWarehouse(settings.warehouse_url)


__all__ = ["Warehouse", "WarehouseError", "open_warehouse"]
