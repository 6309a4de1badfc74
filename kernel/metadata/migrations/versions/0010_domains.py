"""sites.custom_domain: a host name serving the site's magnets' landing pages; leads.tags.

Revision ID: domains
Revises: builds
Create Date: 2026-12-02

A request whose Host header is a site's custom domain gets that site's magnets' landing
pages at ``/{magnet slug}`` (publishing.page_cache, app_api/routes/domains.py). Unique:
one host belongs to one site; several NULLs are allowed. ``leads.tags`` (a JSON list of
labels) lets a campaign go to the leads with a tag (publishing/campaigns.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'domains'
down_revision: str | Sequence[str] | None = 'holdout'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('sites') as batch:
        batch.add_column(sa.Column('custom_domain', sa.String(length=253), nullable=True))
    op.create_index('ux_sites_custom_domain', 'sites', ['custom_domain'], unique=True)
    with op.batch_alter_table('leads') as batch:
        batch.add_column(sa.Column('tags', JSON, server_default='[]', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('leads') as batch:
        batch.drop_column('tags')
    op.drop_index('ux_sites_custom_domain', table_name='sites')
    with op.batch_alter_table('sites') as batch:
        batch.drop_column('custom_domain')
