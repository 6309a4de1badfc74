"""consent_records (purpose, created_at) index: the collector tails the analytics records.

Revision ID: consent
Revises: processing
Create Date: 2026-12-02

Every collector process keeps the analytics consent in force per visitor id in memory
(ingestion/consent.py) and reads the records of the last minute once a second; without
this index that read scans the whole table. Organizations' PII policy lives in
``organizations.settings`` (``pii_policy``), which needs no column.
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'consent'
down_revision: str | Sequence[str] | None = 'processing'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_consent_records_purpose_created_at', 'consent_records',
                    ['purpose', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_consent_records_purpose_created_at', table_name='consent_records')
