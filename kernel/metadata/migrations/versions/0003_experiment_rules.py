"""Experiment promotion rules: conversions gate, SRM threshold, guardrail margins, MDE.

Revision ID: experiment_rules
Revises: 0002
Create Date: 2026-12-02

The server defaults reproduce the rule in force before this migration (30 conversions
per arm, SRM at p < 0.001, guardrail alpha 0.05, no planned MDE: gbstats' two-sided
sequence; no guardrail margins: "not significantly harmed"), so existing experiments
decide exactly as before until they are edited (tests/kernel/test_experiment_rules.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "experiment_rules"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# JSONB on PostgreSQL, JSON (text) on SQLite; kernel.metadata.types.JSONType.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Add the rule columns with defaults equal to the earlier behaviour."""
    with op.batch_alter_table("experiments") as batch:
        batch.add_column(sa.Column("min_conversions", sa.Integer(), server_default="30",
                                   nullable=False))
        batch.add_column(sa.Column("srm_threshold", sa.Double(), server_default="0.001",
                                   nullable=False))
        batch.add_column(sa.Column("guardrail_alpha", sa.Double(), server_default="0.05",
                                   nullable=False))
        batch.add_column(sa.Column("mde", sa.Double(), nullable=True))
        batch.add_column(sa.Column("guardrails", JSON, nullable=True))
        batch.create_check_constraint(op.f("ck_experiments_guardrail_alpha_range"),
                                      "guardrail_alpha > 0 AND guardrail_alpha < 1")
        batch.create_check_constraint(op.f("ck_experiments_srm_threshold_range"),
                                      "srm_threshold >= 0 AND srm_threshold < 1")
        batch.create_check_constraint(op.f("ck_experiments_mde_positive"),
                                      "mde IS NULL OR mde > 0")


def downgrade() -> None:
    """Drop the rule columns."""
    with op.batch_alter_table("experiments") as batch:
        batch.drop_constraint(op.f("ck_experiments_mde_positive"), type_="check")
        batch.drop_constraint(op.f("ck_experiments_srm_threshold_range"), type_="check")
        batch.drop_constraint(op.f("ck_experiments_guardrail_alpha_range"), type_="check")
        for column in ("guardrails", "mde", "guardrail_alpha", "srm_threshold",
                       "min_conversions"):
            batch.drop_column(column)
