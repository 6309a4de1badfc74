"""Reusable asset checks: a table has rows when there are events."""

from collections.abc import Sequence

from dagster import AssetCheckResult, AssetChecksDefinition, AssetKey, asset_check

from orchestration.resources import WarehouseResource


def rows_check(asset: str, description: str = "") -> AssetChecksDefinition:
    """``<asset>_has_rows``: the table exists and is not empty whenever events exist."""

    @asset_check(asset=AssetKey(asset), name=f"{asset}_has_rows",
                 description=description or f"{asset} has rows whenever there are events.")
    def _check(warehouse: WarehouseResource) -> AssetCheckResult:
        with warehouse.open() as wh:
            events = wh.count_events()
            rows = int(wh.scalar(f"SELECT count() FROM {{{{ ref('{asset}') }}}}") or 0) \
                if wh.has_model(asset) else 0
        return AssetCheckResult(passed=rows > 0 or events == 0,
                                metadata={"rows": rows, "events": events})

    return _check


def rows_checks(assets: Sequence[str]) -> list[AssetChecksDefinition]:
    return [rows_check(a) for a in assets]
