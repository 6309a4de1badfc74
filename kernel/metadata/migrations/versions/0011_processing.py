"""processing_activities: the record of processing activities per organization (GDPR art. 30).

Revision ID: processing
Revises: domains
Create Date: 2026-12-02

One row per activity: name, purpose (optionally the consent purpose it relies on), legal
basis (art. 6), data categories and subjects, recipients, retention and transfers outside
the EEA. An organization with no rows gets a derived default register (privacy/register.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'processing'
down_revision: str | Sequence[str] | None = 'domains'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
BASES = ('consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task',
         'legitimate_interests')


def upgrade() -> None:
    op.create_table('processing_activities',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('consent_purpose', sa.String(length=64), nullable=True),
    sa.Column('legal_basis', sa.Enum(*BASES, name='legal_basis', native_enum=False,
                                     create_constraint=True, length=32), nullable=False),
    sa.Column('data_categories', JSON, nullable=False),
    sa.Column('data_subjects', JSON, nullable=False),
    sa.Column('recipients', JSON, nullable=False),
    sa.Column('retention', sa.Text(), server_default='', nullable=False),
    sa.Column('transfers', JSON, nullable=False),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'],
                            name=op.f('fk_processing_activities_org_id_organizations'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processing_activities')),
    sa.UniqueConstraint('org_id', 'name', name=op.f('uq_processing_activities_org_id_name'))
    )


def downgrade() -> None:
    op.drop_table('processing_activities')
