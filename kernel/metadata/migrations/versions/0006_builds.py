"""Builds as durable jobs, stored artifacts, brand kits and versioned magnet documents.

Revision ID: builds
Revises: publishing
Create Date: 2026-12-02

``jobs`` is the durable queue (claimed with a lease, jobs/queue.py); ``builds`` and
``artifacts`` record what a build job rendered (bytes in the content-addressed artifact
store); ``brand_kits`` holds one kit per organization; ``magnet_documents`` keeps every saved
version of a magnet's document and ``lead_magnets.content_version`` the current one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = 'builds'
down_revision: str | Sequence[str] | None = 'publishing'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# kernel.metadata.types stores through these types.
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('brand_kits',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('kit', JSON, nullable=False),
    sa.Column('logo_sha256', sa.String(length=64), nullable=True),
    sa.Column('logo_media_type', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('updated_by', sa.String(length=40), nullable=True),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_brand_kits_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_brand_kits_updated_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brand_kits')),
    sa.UniqueConstraint('org_id', name=op.f('uq_brand_kits_org_id'))
    )
    op.create_table('jobs',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('magnet_id', sa.String(length=40), nullable=True),
    sa.Column('status', sa.Enum('queued', 'running', 'succeeded', 'failed', name='job_status', native_enum=False, create_constraint=True, length=32), server_default='queued', nullable=False),
    sa.Column('params', JSON, nullable=False),
    sa.Column('result', JSON, nullable=True),
    sa.Column('progress', sa.Double(), server_default='0', nullable=False),
    sa.Column('message', sa.String(length=300), server_default='', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('max_attempts', sa.Integer(), server_default='3', nullable=False),
    sa.Column('run_after', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.Column('lease_until', TIMESTAMP, nullable=True),
    sa.Column('worker', sa.String(length=200), nullable=True),
    sa.Column('started_at', TIMESTAMP, nullable=True),
    sa.Column('finished_at', TIMESTAMP, nullable=True),
    sa.Column('created_by', sa.String(length=40), nullable=True),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint('progress >= 0 AND progress <= 1', name=op.f('ck_jobs_progress_range')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_jobs_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['magnet_id'], ['lead_magnets.id'], name=op.f('fk_jobs_magnet_id_lead_magnets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_jobs_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_due', ['status', 'run_after'], unique=False)
        batch_op.create_index('ix_jobs_org_id_created_at', ['org_id', 'created_at'], unique=False)

    op.create_table('builds',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('magnet_id', sa.String(length=40), nullable=False),
    sa.Column('job_id', sa.String(length=40), nullable=False),
    sa.Column('document_version', sa.Integer(), nullable=False),
    sa.Column('template', sa.String(length=80), nullable=True),
    sa.Column('formats', JSON, nullable=False),
    sa.Column('warnings', JSON, nullable=False),
    sa.Column('created_by', sa.String(length=40), nullable=True),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_builds_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_builds_job_id_jobs')),
    sa.ForeignKeyConstraint(['magnet_id'], ['lead_magnets.id'], name=op.f('fk_builds_magnet_id_lead_magnets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_builds_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_builds'))
    )
    with op.batch_alter_table('builds', schema=None) as batch_op:
        batch_op.create_index('ix_builds_org_id_magnet_id_created_at', ['org_id', 'magnet_id', 'created_at'], unique=False)

    op.create_table('magnet_documents',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('magnet_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', JSON, nullable=False),
    sa.Column('source', sa.String(length=32), server_default='api', nullable=False),
    sa.Column('job_id', sa.String(length=40), nullable=True),
    sa.Column('created_by', sa.String(length=40), nullable=True),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_magnet_documents_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_magnet_documents_job_id_jobs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['magnet_id'], ['lead_magnets.id'], name=op.f('fk_magnet_documents_magnet_id_lead_magnets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_magnet_documents_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_magnet_documents')),
    sa.UniqueConstraint('magnet_id', 'version', name=op.f('uq_magnet_documents_magnet_id_version'))
    )
    with op.batch_alter_table('magnet_documents', schema=None) as batch_op:
        batch_op.create_index('ix_magnet_documents_org_id', ['org_id'], unique=False)

    op.create_table('artifacts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('magnet_id', sa.String(length=40), nullable=False),
    sa.Column('build_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('media_type', sa.String(length=120), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['build_id'], ['builds.id'], name=op.f('fk_artifacts_build_id_builds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['magnet_id'], ['lead_magnets.id'], name=op.f('fk_artifacts_magnet_id_lead_magnets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_artifacts_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_artifacts')),
    sa.UniqueConstraint('build_id', 'name', name=op.f('uq_artifacts_build_id_name'))
    )
    with op.batch_alter_table('artifacts', schema=None) as batch_op:
        batch_op.create_index('ix_artifacts_org_id_magnet_id', ['org_id', 'magnet_id'], unique=False)
        batch_op.create_index('ix_artifacts_sha256', ['sha256'], unique=False)

    with op.batch_alter_table('lead_magnets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_version', sa.Integer(), server_default='1', nullable=False))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('lead_magnets', schema=None) as batch_op:
        batch_op.drop_column('content_version')

    with op.batch_alter_table('artifacts', schema=None) as batch_op:
        batch_op.drop_index('ix_artifacts_sha256')
        batch_op.drop_index('ix_artifacts_org_id_magnet_id')

    op.drop_table('artifacts')
    with op.batch_alter_table('magnet_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_magnet_documents_org_id')

    op.drop_table('magnet_documents')
    with op.batch_alter_table('builds', schema=None) as batch_op:
        batch_op.drop_index('ix_builds_org_id_magnet_id_created_at')

    op.drop_table('builds')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_org_id_created_at')
        batch_op.drop_index('ix_jobs_due')

    op.drop_table('jobs')
    op.drop_table('brand_kits')
