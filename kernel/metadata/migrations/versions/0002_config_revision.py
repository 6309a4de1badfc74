"""organizations.config_revision: bumped with every change the collector caches.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

kernel/metadata/revisions.py bumps it; the collector's registry polls it once a second so a
revoked API key or a deleted site stops working in every process within ~2 s.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('organizations') as batch:
        batch.add_column(sa.Column('config_revision', sa.BigInteger(), server_default='0',
                                   nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('organizations') as batch:
        batch.drop_column('config_revision')
