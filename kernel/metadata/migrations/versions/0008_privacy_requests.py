"""Data-subject requests (export, erasure) and retention policies per organization.

Revision ID: privacy_requests
Revises: builds
Create Date: 2026-12-02

``privacy_requests`` records each export or erasure of one person: identifiers only while
pending, a keyed hash and the rows removed per store afterwards. ``retention_policies``
holds how long an organization keeps raw events and unconfirmed leads.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = 'privacy_requests'
down_revision: str | Sequence[str] | None = 'privacy_keys'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('privacy_requests',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('subject', JSON, nullable=False),
    sa.Column('subject_hash', sa.String(length=64), nullable=False),
    sa.Column('job_id', sa.String(length=40), nullable=True),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('steps', JSON, nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('completed_at', TIMESTAMP, nullable=True),
    sa.Column('archive_bytes', sa.BigInteger(), nullable=True),
    sa.Column('expires_at', TIMESTAMP, nullable=True),
    sa.Column('downloaded_at', TIMESTAMP, nullable=True),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_privacy_requests_job_id_jobs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_privacy_requests_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_requests'))
    )
    op.create_index('ix_privacy_requests_org_id_created_at', 'privacy_requests', ['org_id', 'created_at'], unique=False)
    op.create_index('ix_privacy_requests_org_id_subject_hash', 'privacy_requests', ['org_id', 'subject_hash'], unique=False)
    op.create_table('retention_policies',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('raw_events_days', sa.Integer(), nullable=True),
    sa.Column('unconfirmed_leads_days', sa.Integer(), nullable=True),
    sa.Column('last_run', JSON, nullable=True),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_retention_policies_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_policies')),
    sa.UniqueConstraint('org_id', name=op.f('uq_retention_policies_org_id'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('retention_policies')
    op.drop_index('ix_privacy_requests_org_id_subject_hash', table_name='privacy_requests')
    op.drop_index('ix_privacy_requests_org_id_created_at', table_name='privacy_requests')
    op.drop_table('privacy_requests')
