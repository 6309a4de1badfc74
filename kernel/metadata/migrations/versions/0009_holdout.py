"""Holdout after promotion: a share of traffic keeps the control while guardrails are watched.

Revision ID: holdout
Revises: builds
Create Date: 2026-12-02

``holdout_share`` and ``holdout_days`` are per experiment; the server default share is 0
(no holdout), so experiments that exist before this migration keep today's behaviour: a
promotion serves the winner to everyone and is final. New experiments get the API's
default (5 % for 30 days). ``holdout_started_at`` is set while a holdout runs (the
promotion time: the holdout's readout counts exposures from then on), ``holdout_ends_at``
is its planned end, then when it ended (cleanly or by a roll back).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "holdout"
down_revision: str | Sequence[str] | None = "privacy_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the holdout columns (share 0 = none for existing experiments)."""
    with op.batch_alter_table("experiments") as batch:
        batch.add_column(sa.Column("holdout_share", sa.Double(), server_default="0",
                                   nullable=False))
        batch.add_column(sa.Column("holdout_days", sa.Integer(), server_default="30",
                                   nullable=False))
        batch.add_column(sa.Column("holdout_started_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("holdout_ends_at", TIMESTAMP, nullable=True))
        batch.create_check_constraint(op.f("ck_experiments_holdout_share_range"),
                                      "holdout_share >= 0 AND holdout_share <= 0.5")
        batch.create_check_constraint(op.f("ck_experiments_holdout_days_range"),
                                      "holdout_days >= 0")


def downgrade() -> None:
    """Drop the holdout columns."""
    with op.batch_alter_table("experiments") as batch:
        batch.drop_constraint(op.f("ck_experiments_holdout_days_range"), type_="check")
        batch.drop_constraint(op.f("ck_experiments_holdout_share_range"), type_="check")
        for column in ("holdout_ends_at", "holdout_started_at", "holdout_days",
                       "holdout_share"):
            batch.drop_column(column)
