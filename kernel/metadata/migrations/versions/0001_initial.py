"""Initial schema: organizations, users, keys, sites, magnets, experiments, leads, webhooks.

Revision ID: 0001
Revises:
Create Date: 2026-11-29

Written against the models in kernel/metadata/models.py; tests/kernel/test_metadata.py
checks with Alembic's compare_metadata that the two agree on SQLite and PostgreSQL.
Types are spelled out here (not imported from the app) so this file never changes meaning.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# JSONB on PostgreSQL, JSON (text) on SQLite; kernel.metadata.types.JSONType.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# kernel.metadata.types.UTCDateTime stores through this type.
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('organizations',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('consent_mode', sa.Enum('cookieless', 'consent_required', 'first_party', name='consent_mode', native_enum=False, create_constraint=True, length=32), server_default='cookieless', nullable=False),
    sa.Column('settings', JSON, nullable=False),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations')),
    sa.UniqueConstraint('slug', name=op.f('uq_organizations_slug'))
    )
    op.create_table('ad_spend',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('campaign', sa.String(length=200), server_default='', nullable=False),
    sa.Column('amount', sa.Double(), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='USD', nullable=False),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_ad_spend_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ad_spend')),
    sa.UniqueConstraint('org_id', 'date', 'channel', 'campaign', name=op.f('uq_ad_spend_org_id_date_channel_campaign'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('actor_type', sa.Enum('user', 'api_key', 'system', name='actor_type', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=True),
    sa.Column('before', JSON, nullable=True),
    sa.Column('after', JSON, nullable=True),
    sa.Column('ip_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_audit_log_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_org_id_created_at', 'audit_log', ['org_id', 'created_at'], unique=False)
    op.create_index('ix_audit_log_resource', 'audit_log', ['org_id', 'resource_type', 'resource_id'], unique=False)
    op.create_table('outbox_events',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('payload', JSON, nullable=False),
    sa.Column('dispatched_at', TIMESTAMP, nullable=True),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_outbox_events_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_events'))
    )
    op.create_index('ix_outbox_events_org_id_created_at', 'outbox_events', ['org_id', 'created_at'], unique=False)
    op.create_index('ix_outbox_events_pending', 'outbox_events', ['dispatched_at', 'created_at'], unique=False)
    op.create_table('sites',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('site_key', sa.String(length=64), nullable=False),
    sa.Column('allowed_origins', JSON, nullable=False),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_sites_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('site_key', name=op.f('uq_sites_site_key'))
    )
    op.create_index('ix_sites_org_id', 'sites', ['org_id'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('role', sa.Enum('owner', 'admin', 'editor', 'viewer', name='role', native_enum=False, create_constraint=True, length=32), server_default='viewer', nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('last_login_at', TIMESTAMP, nullable=True),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_users_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('org_id', 'email', name=op.f('uq_users_org_id_email'))
    )
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('previous_secret', sa.String(length=100), nullable=True),
    sa.Column('previous_secret_expires_at', TIMESTAMP, nullable=True),
    sa.Column('event_types', JSON, nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('disabled_at', TIMESTAMP, nullable=True),
    sa.Column('failing_since', TIMESTAMP, nullable=True),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_webhook_endpoints_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    op.create_index('ix_webhook_endpoints_org_id', 'webhook_endpoints', ['org_id'], unique=False)
    op.create_table('api_keys',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('prefix', sa.String(length=32), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', JSON, nullable=False),
    sa.Column('created_by', sa.String(length=40), nullable=True),
    sa.Column('last_used_at', TIMESTAMP, nullable=True),
    sa.Column('revoked_at', TIMESTAMP, nullable=True),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_api_keys_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_api_keys_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_keys_prefix'))
    )
    op.create_index('ix_api_keys_org_id', 'api_keys', ['org_id'], unique=False)
    op.create_table('lead_magnets',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('site_id', sa.String(length=40), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('type', sa.Enum('ebook', 'checklist', 'template', 'calculator', 'infographic', name='magnet_type', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('draft', 'in_review', 'approved', 'published', 'archived', name='magnet_status', native_enum=False, create_constraint=True, length=32), server_default='draft', nullable=False),
    sa.Column('content', JSON, nullable=False),
    sa.Column('design', JSON, nullable=False),
    sa.Column('lead_value', sa.Double(), nullable=True),
    sa.Column('published_at', TIMESTAMP, nullable=True),
    sa.Column('created_by', sa.String(length=40), nullable=True),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_lead_magnets_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_lead_magnets_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_lead_magnets_site_id_sites'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_magnets')),
    sa.UniqueConstraint('org_id', 'slug', name=op.f('uq_lead_magnets_org_id_slug'))
    )
    op.create_index('ix_lead_magnets_org_id_created_at', 'lead_magnets', ['org_id', 'created_at'], unique=False)
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('endpoint_id', sa.String(length=40), nullable=False),
    sa.Column('outbox_event_id', sa.String(length=40), nullable=False),
    sa.Column('attempt', sa.Integer(), server_default='1', nullable=False),
    sa.Column('status', sa.Enum('pending', 'succeeded', 'failed', 'gave_up', name='delivery_status', native_enum=False, create_constraint=True, length=32), server_default='pending', nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', TIMESTAMP, nullable=True),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint('attempt >= 1', name=op.f('ck_webhook_deliveries_attempt_positive')),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_webhook_deliveries_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['outbox_event_id'], ['outbox_events.id'], name=op.f('fk_webhook_deliveries_outbox_event_id_outbox_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('endpoint_id', 'outbox_event_id', 'attempt', name=op.f('uq_webhook_deliveries_endpoint_id_outbox_event_id_attempt'))
    )
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries', ['status', 'next_attempt_at'], unique=False)
    op.create_index('ix_webhook_deliveries_org_id_created_at', 'webhook_deliveries', ['org_id', 'created_at'], unique=False)
    op.create_index('ix_webhook_deliveries_outbox_event_id', 'webhook_deliveries', ['outbox_event_id'], unique=False)
    op.create_table('ai_generations',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('magnet_id', sa.String(length=40), nullable=True),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('response', sa.Text(), nullable=True),
    sa.Column('tokens_in', sa.Integer(), server_default='0', nullable=False),
    sa.Column('tokens_out', sa.Integer(), server_default='0', nullable=False),
    sa.Column('status', sa.Enum('pending', 'succeeded', 'failed', name='generation_status', native_enum=False, create_constraint=True, length=32), server_default='pending', nullable=False),
    sa.Column('created_by', sa.String(length=40), nullable=True),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_ai_generations_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['magnet_id'], ['lead_magnets.id'], name=op.f('fk_ai_generations_magnet_id_lead_magnets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_ai_generations_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_generations'))
    )
    op.create_index('ix_ai_generations_org_id_created_at', 'ai_generations', ['org_id', 'created_at'], unique=False)
    op.create_table('experiments',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('magnet_id', sa.String(length=40), nullable=True),
    sa.Column('target_url', sa.String(length=2048), nullable=True),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('hypothesis', sa.Text(), server_default='', nullable=False),
    sa.Column('primary_metric', sa.String(length=64), server_default='lead', nullable=False),
    sa.Column('guardrail_metrics', JSON, nullable=False),
    sa.Column('variants', JSON, nullable=False),
    sa.Column('coverage', sa.Double(), server_default='1.0', nullable=False),
    sa.Column('status', sa.Enum('draft', 'running', 'stopped', 'promoted', 'rolled_back', name='experiment_status', native_enum=False, create_constraint=True, length=32), server_default='draft', nullable=False),
    sa.Column('winner', sa.String(length=32), nullable=True),
    sa.Column('started_at', TIMESTAMP, nullable=True),
    sa.Column('stopped_at', TIMESTAMP, nullable=True),
    sa.Column('decision', JSON, nullable=True),
    sa.Column('min_runtime_hours', sa.Integer(), server_default='72', nullable=False),
    sa.Column('min_users_per_arm', sa.Integer(), server_default='1000', nullable=False),
    sa.Column('alpha', sa.Double(), server_default='0.05', nullable=False),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint('alpha > 0 AND alpha < 1', name=op.f('ck_experiments_alpha_range')),
    sa.CheckConstraint('coverage >= 0 AND coverage <= 1', name=op.f('ck_experiments_coverage_range')),
    sa.ForeignKeyConstraint(['magnet_id'], ['lead_magnets.id'], name=op.f('fk_experiments_magnet_id_lead_magnets')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_experiments_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experiments')),
    sa.UniqueConstraint('org_id', 'key', name=op.f('uq_experiments_org_id_key'))
    )
    op.create_index('ix_experiments_org_id_created_at', 'experiments', ['org_id', 'created_at'], unique=False)
    op.create_index('ix_experiments_status', 'experiments', ['status'], unique=False)
    op.create_table('leads',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('magnet_id', sa.String(length=40), nullable=False),
    sa.Column('variant', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('fields', JSON, nullable=False),
    sa.Column('visitor_id', sa.String(length=64), nullable=True),
    sa.Column('consent', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('confirmed_at', TIMESTAMP, nullable=True),
    sa.Column('utm', JSON, nullable=False),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['magnet_id'], ['lead_magnets.id'], name=op.f('fk_leads_magnet_id_lead_magnets')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_leads_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leads')),
    sa.UniqueConstraint('org_id', 'magnet_id', 'email', name=op.f('uq_leads_org_id_magnet_id_email'))
    )
    op.create_index('ix_leads_org_id_created_at', 'leads', ['org_id', 'created_at'], unique=False)
    op.create_table('magnet_variants',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('magnet_id', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('content', JSON, nullable=False),
    sa.Column('design', JSON, nullable=False),
    sa.Column('is_control', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['magnet_id'], ['lead_magnets.id'], name=op.f('fk_magnet_variants_magnet_id_lead_magnets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_magnet_variants_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_magnet_variants')),
    sa.UniqueConstraint('magnet_id', 'key', name=op.f('uq_magnet_variants_magnet_id_key'))
    )
    op.create_index('ix_magnet_variants_org_id', 'magnet_variants', ['org_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_magnet_variants_org_id', table_name='magnet_variants')
    op.drop_table('magnet_variants')
    op.drop_index('ix_leads_org_id_created_at', table_name='leads')
    op.drop_table('leads')
    op.drop_index('ix_experiments_status', table_name='experiments')
    op.drop_index('ix_experiments_org_id_created_at', table_name='experiments')
    op.drop_table('experiments')
    op.drop_index('ix_ai_generations_org_id_created_at', table_name='ai_generations')
    op.drop_table('ai_generations')
    op.drop_index('ix_webhook_deliveries_outbox_event_id', table_name='webhook_deliveries')
    op.drop_index('ix_webhook_deliveries_org_id_created_at', table_name='webhook_deliveries')
    op.drop_index('ix_webhook_deliveries_due', table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
    op.drop_index('ix_lead_magnets_org_id_created_at', table_name='lead_magnets')
    op.drop_table('lead_magnets')
    op.drop_index('ix_api_keys_org_id', table_name='api_keys')
    op.drop_table('api_keys')
    op.drop_index('ix_webhook_endpoints_org_id', table_name='webhook_endpoints')
    op.drop_table('webhook_endpoints')
    op.drop_table('users')
    op.drop_index('ix_sites_org_id', table_name='sites')
    op.drop_table('sites')
    op.drop_index('ix_outbox_events_pending', table_name='outbox_events')
    op.drop_index('ix_outbox_events_org_id_created_at', table_name='outbox_events')
    op.drop_table('outbox_events')
    op.drop_index('ix_audit_log_resource', table_name='audit_log')
    op.drop_index('ix_audit_log_org_id_created_at', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('ad_spend')
    op.drop_table('organizations')
