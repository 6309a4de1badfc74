"""Analytics computed in Python over aggregates from the warehouse: lead values, multi-touch
attribution for every model, ROI and experiment results over time.

Each module holds pure functions over polars frames (tested without Dagster) plus the SQL
that aggregates their inputs; ``orchestration/assets`` wires them to the warehouse.
"""
