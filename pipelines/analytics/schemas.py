"""Arrow schemas of the tables computed in Python and stored in the warehouse.

Explicit schemas keep column types stable between runs (a partial, partitioned write must
match the stored columns) and say which columns may be NULL.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

_S, _F, _I = pa.string(), pa.float64(), pa.int64()


def _schema(*fields: tuple[str, pa.DataType, bool]) -> pa.Schema:
    return pa.schema([pa.field(name, dtype, nullable=null) for name, dtype, null in fields])


LEAD_VALUES = _schema(
    ("org_id", _S, False), ("magnet_id", _S, False), ("leads", _I, False),
    ("revenue_after_lead", _F, False), ("learned_value", _F, False),
    ("configured_value", _F, True), ("lead_value", _F, False), ("source", _S, False),
)
ATTRIBUTION = _schema(
    ("org_id", _S, False), ("model", _S, False), ("channel", _S, False),
    ("conversions", _F, False), ("value", _F, False),
)
ROI = _schema(
    ("org_id", _S, False), ("model", _S, False), ("channel", _S, False),
    ("spend", _F, False), ("currency", _S, False), ("conversions", _F, False),
    ("value", _F, False), ("cost_per_lead", _F, True), ("roas", _F, True), ("roi", _F, True),
    ("payback_weeks", _I, True), ("error", _S, False),
)
EXPERIMENT_RESULTS = _schema(
    ("org_id", _S, False), ("experiment_key", _S, False), ("look_date", pa.date32(), False),
    ("method", _S, False), ("variant", _S, False), ("baseline", _S, False),
    ("users", _I, False), ("conversions", _I, False), ("conversion_rate", _F, True),
    ("lift", _F, True), ("ci_low", _F, True), ("ci_high", _F, True), ("p_value", _F, True),
    ("p_value_adjusted", _F, True), ("chance_to_beat", _F, True),
    ("significant", pa.bool_(), False), ("srm_p_value", _F, True), ("error", _S, False),
)


def to_arrow(frame: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    """``frame`` with exactly ``schema``'s columns, order and types (an empty frame works)."""
    if frame.height == 0:
        return schema.empty_table()
    table = frame.select(schema.names).to_arrow()
    return table.cast(schema)
