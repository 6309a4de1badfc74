"""retention_policies.regions: days to keep raw events per visitor region.

Revision ID: retention_regions
Revises: consent
Create Date: 2026-12-02

A JSON object from a region (an ISO 3166-1 alpha-2 country code, or a group such as EU,
privacy/jurisdictions.py) to days; events from there are kept that long instead of the
organization's ``raw_events_days`` (retention by jurisdiction, issue #16).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'retention_regions'
down_revision: str | Sequence[str] | None = 'consent'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('retention_policies') as batch:
        batch.add_column(sa.Column('regions', JSON, server_default='{}', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('retention_policies') as batch:
        batch.drop_column('regions')
