"""Publishing: double opt-in per magnet, per-purpose consents, the mail outbox, suppressions.

Revision ID: publishing
Revises: content
Create Date: 2026-12-02

lead_magnets.double_opt_in, leads.consents, mail_messages (the durable mail outbox the
publishing mail worker drains), mail_suppressions (unsubscribed, bounced, complained) and
mail_campaigns (scheduled announcements to confirmed, consenting leads).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'publishing'
down_revision: str | Sequence[str] | None = 'content'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('lead_magnets') as batch:
        batch.add_column(sa.Column('double_opt_in', sa.Boolean(), server_default=sa.true(),
                                   nullable=False))
    with op.batch_alter_table('leads') as batch:
        batch.add_column(sa.Column('consents', JSON, server_default='[]', nullable=False))
    op.create_table('mail_messages',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('lead_id', sa.String(length=40), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('to_addr', sa.String(length=320), nullable=False),
    sa.Column('to_name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=False),
    sa.Column('unsubscribe_url', sa.String(length=2048), server_default='', nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', TIMESTAMP, nullable=True),
    sa.Column('sent_at', TIMESTAMP, nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_mail_messages_attempts_non_negative')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_mail_messages_lead_id_leads'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_mail_messages_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_messages'))
    )
    op.create_index('ix_mail_messages_org_id_created_at', 'mail_messages', ['org_id', 'created_at'], unique=False)
    op.create_index('ix_mail_messages_due', 'mail_messages', ['status', 'next_attempt_at'], unique=False)
    op.create_table('mail_suppressions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_mail_suppressions_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_suppressions')),
    sa.UniqueConstraint('org_id', 'email', name=op.f('uq_mail_suppressions_org_id_email'))
    )
    op.create_table('mail_campaigns',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('magnet_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('intro', sa.Text(), server_default='', nullable=False),
    sa.Column('purpose', sa.String(length=64), server_default='marketing_email', nullable=False),
    sa.Column('segment', JSON, nullable=False),
    sa.Column('scheduled_at', TIMESTAMP, nullable=False),
    sa.Column('status', sa.String(length=16), server_default='scheduled', nullable=False),
    sa.Column('queued', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['magnet_id'], ['lead_magnets.id'], name=op.f('fk_mail_campaigns_magnet_id_lead_magnets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_mail_campaigns_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_campaigns'))
    )
    op.create_index('ix_mail_campaigns_org_id_created_at', 'mail_campaigns', ['org_id', 'created_at'], unique=False)
    op.create_index('ix_mail_campaigns_due', 'mail_campaigns', ['status', 'scheduled_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_mail_campaigns_due', table_name='mail_campaigns')
    op.drop_index('ix_mail_campaigns_org_id_created_at', table_name='mail_campaigns')
    op.drop_table('mail_campaigns')
    op.drop_table('mail_suppressions')
    op.drop_index('ix_mail_messages_due', table_name='mail_messages')
    op.drop_index('ix_mail_messages_org_id_created_at', table_name='mail_messages')
    op.drop_table('mail_messages')
    with op.batch_alter_table('leads') as batch:
        batch.drop_column('consents')
    with op.batch_alter_table('lead_magnets') as batch:
        batch.drop_column('double_opt_in')
