"""One factory for the assets that are a single SQL model in ``warehouse_sql/models``."""


from collections.abc import Callable, Sequence
from typing import Any

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, asset

from kernel.warehouse import Warehouse
from orchestration.partitions import ROLLUP_FRESH
from orchestration.resources import WarehouseResource

OWNERS = ["team:growth-analytics"]


def sql_model_asset(name: str, description: str, deps: Sequence[str], *,
                    group: str = "analytics", fresh: Any = ROLLUP_FRESH,
                    summary: Callable[[Warehouse], dict[str, Any]] | None = None
                    ) -> AssetsDefinition:
    """An asset that materializes ``warehouse_sql/models/<name>.sql`` in full.

    Args:
        description: its one line in the Dagster UI.
        summary: extra materialization metadata read from the fresh table (e.g. totals).
    """

    @asset(name=name, description=description, group_name=group, owners=OWNERS,
           freshness_policy=fresh, kinds={"clickhouse", "sql"}, deps=list(deps))
    def _materialize(context: AssetExecutionContext,
                     warehouse: WarehouseResource) -> MaterializeResult:
        with warehouse.open() as wh:
            metadata: dict[str, Any] = {"rows": wh.materialize(name)}
            if summary is not None:
                metadata.update(summary(wh))
        context.log.info("%s: %s", name, metadata)
        return MaterializeResult(metadata=metadata)

    return _materialize
