"""Personal data encrypted at rest (wrapped data keys) and consent per purpose.

Revision ID: privacy_keys
Revises: builds
Create Date: 2026-12-02

``org_data_keys`` holds each organization's data key wrapped by the master key. The leads'
email, name and fields, the mail outbox's recipient and bodies and the webhook outbox's
payloads move to ``*_ct`` ciphertext columns: existing rows are encrypted here (with the
master key of the process that migrates: LODESTONE_MASTER_KEY, or the data directory's in
development), then the plain-text columns are dropped. ``leads.email_index`` (keyed blind
index) replaces the email in the uniqueness constraint. ``consent_purposes``,
``consent_texts`` and ``consent_records`` hold consent per purpose (append-only records).
"""

import json
import os
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'privacy_keys'
down_revision: str | Sequence[str] | None = 'builds'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)

#: table -> [(plain column, ciphertext column, json?)]
SEALED = {
    'leads': [('email', 'email_ct', False), ('name', 'name_ct', False),
              ('fields', 'fields_ct', True)],
    'mail_messages': [('to_addr', 'to_addr_ct', False), ('to_name', 'to_name_ct', False),
                      ('text_body', 'text_body_ct', False), ('html_body', 'html_body_ct', False)],
    'outbox_events': [('payload', 'payload_ct', True)],
}


def _created_at() -> sa.Column[Any]:
    return sa.Column('created_at', TIMESTAMP, server_default=sa.func.now(), nullable=False)


def _org(table: str) -> list[Any]:
    return [sa.Column('org_id', sa.String(length=40), nullable=False),
            sa.ForeignKeyConstraint(['org_id'], ['organizations.id'],
                                    name=op.f(f'fk_{table}_org_id_organizations'),
                                    ondelete='CASCADE')]


def _tables() -> None:
    op.create_table('org_data_keys',
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('wrapped', sa.LargeBinary(), nullable=False),
    sa.Column('master_key_id', sa.String(length=16), nullable=False),
    sa.Column('rotated_at', TIMESTAMP, nullable=True),
    _created_at(),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'],
                            name=op.f('fk_org_data_keys_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_org_data_keys')))
    op.create_table('consent_purposes',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('required', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('on_form', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('current_version', sa.Integer(), server_default='1', nullable=False),
    _created_at(), *_org('consent_purposes'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_purposes')),
    sa.UniqueConstraint('org_id', 'key', name=op.f('uq_consent_purposes_org_id_key')))
    op.create_table('consent_texts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('purpose_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    _created_at(), *_org('consent_texts'),
    sa.ForeignKeyConstraint(['purpose_id'], ['consent_purposes.id'],
                            name=op.f('fk_consent_texts_purpose_id_consent_purposes'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_texts')),
    sa.UniqueConstraint('purpose_id', 'version', name=op.f('uq_consent_texts_purpose_id_version')))
    op.create_index('ix_consent_texts_org_id', 'consent_texts', ['org_id'], unique=False)
    op.create_table('consent_records',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('lead_id', sa.String(length=40), nullable=True),
    sa.Column('visitor_id', sa.String(length=64), nullable=True),
    sa.Column('purpose', sa.String(length=64), nullable=False),
    sa.Column('text_version', sa.Integer(), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('proof', sa.String(length=64), nullable=False),
    _created_at(), *_org('consent_records'),
    sa.CheckConstraint('lead_id IS NOT NULL OR visitor_id IS NOT NULL',
                       name=op.f('ck_consent_records_subject')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_consent_records_lead_id_leads'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_records')))
    op.create_index('ix_consent_records_org_id_lead_id', 'consent_records',
                    ['org_id', 'lead_id', 'purpose'], unique=False)
    op.create_index('ix_consent_records_org_id_visitor_id', 'consent_records',
                    ['org_id', 'visitor_id', 'purpose'], unique=False)


def _keyring() -> Any:
    from kernel.crypto import keyring_for_settings
    from kernel.settings import get_settings

    return keyring_for_settings(get_settings())


def _data_key(conn: sa.Connection, ring: Any, org_id: str, keys: dict[str, Any]) -> Any:
    from kernel.crypto import DataKey

    if org_id in keys:
        return keys[org_id]
    row = conn.execute(sa.text('SELECT wrapped, master_key_id FROM org_data_keys '
                               'WHERE org_id = :o'), {'o': org_id}).first()
    if row is None:
        key = os.urandom(32)
        conn.execute(sa.text('INSERT INTO org_data_keys (org_id, version, wrapped, master_key_id) '
                             'VALUES (:o, 1, :w, :m)'),
                     {'o': org_id, 'w': ring.wrap(org_id, key), 'm': ring.current_id})
    else:
        key = ring.unwrap(org_id, row.wrapped, row.master_key_id)
    keys[org_id] = DataKey.of(org_id, key)
    return keys[org_id]


def _encrypt_rows(conn: sa.Connection) -> None:
    ring, keys = None, {}  # type: ignore[var-annotated]
    for table, columns in SEALED.items():
        plain = ', '.join(c for c, _, _ in columns)
        for row in conn.execute(sa.text(f'SELECT id, org_id, {plain} FROM {table}')).all():
            ring = ring or _keyring()
            dk = _data_key(conn, ring, row.org_id, keys)
            values: dict[str, Any] = {'id': row.id}
            for col, ct, is_json in columns:
                value = getattr(row, col)
                if is_json and isinstance(value, str):
                    value = json.loads(value)
                raw = None if value is None else (
                    json.dumps(value, separators=(',', ':')) if is_json else str(value)).encode()
                values[ct] = None if raw is None else dk.seal(raw, f'{table}.{col}')
            if table == 'leads':
                values['email_index'] = dk.blind_index(row.email)
            sets = ', '.join(f'{k} = :{k}' for k in values if k != 'id')
            conn.execute(sa.text(f'UPDATE {table} SET {sets} WHERE id = :id'), values)


def upgrade() -> None:
    """Upgrade schema: new tables, ciphertext columns filled from the plain ones, which go."""
    _tables()
    for table, columns in SEALED.items():
        with op.batch_alter_table(table) as batch:
            for _, ct, _ in columns:
                batch.add_column(sa.Column(ct, sa.LargeBinary(), nullable=True))
            if table == 'leads':
                batch.add_column(sa.Column('email_index', sa.String(length=64), nullable=True))
    _encrypt_rows(op.get_bind())
    with op.batch_alter_table('leads') as batch:
        batch.drop_constraint('uq_leads_org_id_magnet_id_email', type_='unique')
        batch.alter_column('email_ct', existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column('email_index', existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint('uq_leads_org_id_magnet_id_email_index',
                                       ['org_id', 'magnet_id', 'email_index'])
        batch.create_index('ix_leads_org_id_email_index', ['org_id', 'email_index'])
        for col in ('email', 'name', 'fields'):
            batch.drop_column(col)
    with op.batch_alter_table('mail_messages') as batch:
        for col in ('to_addr_ct', 'text_body_ct', 'html_body_ct'):
            batch.alter_column(col, existing_type=sa.LargeBinary(), nullable=False)
        for col in ('to_addr', 'to_name', 'text_body', 'html_body'):
            batch.drop_column(col)
    with op.batch_alter_table('outbox_events') as batch:
        batch.drop_column('payload')


def downgrade() -> None:
    """Downgrade schema: plain-text columns back, decrypted (needs the master key)."""
    from sqlalchemy.dialects import postgresql

    json_type = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
    conn = op.get_bind()
    for table, columns in SEALED.items():
        with op.batch_alter_table(table) as batch:
            for col, _, is_json in columns:
                batch.add_column(sa.Column(col, json_type if is_json else sa.Text(), nullable=True))
    ring, keys = None, {}  # type: ignore[var-annotated]
    for table, columns in SEALED.items():
        cts = ', '.join(ct for _, ct, _ in columns)
        for row in conn.execute(sa.text(f'SELECT id, org_id, {cts} FROM {table}')).all():
            ring = ring or _keyring()
            dk = _data_key(conn, ring, row.org_id, keys)
            values: dict[str, Any] = {'id': row.id}
            for col, ct, is_json in columns:
                sealed = getattr(row, ct)
                raw = None if sealed is None else dk.open(bytes(sealed), f'{table}.{col}').decode()
                values[col] = json.loads(raw) if is_json and raw is not None else raw
            sets = ', '.join(f'{k} = :{k}' for k in values if k != 'id')
            stmt = sa.text(f'UPDATE {table} SET {sets} WHERE id = :id').bindparams(
                *(sa.bindparam(col, type_=json_type) for col, _, is_json in columns if is_json))
            conn.execute(stmt, values)
    with op.batch_alter_table('leads') as batch:
        batch.drop_constraint('uq_leads_org_id_magnet_id_email_index', type_='unique')
        batch.drop_index('ix_leads_org_id_email_index')
        batch.create_unique_constraint('uq_leads_org_id_magnet_id_email',
                                       ['org_id', 'magnet_id', 'email'])
        for col in ('email_ct', 'email_index', 'name_ct', 'fields_ct'):
            batch.drop_column(col)
    for table in ('mail_messages', 'outbox_events'):
        with op.batch_alter_table(table) as batch:
            for _, ct, _ in SEALED[table]:
                batch.drop_column(ct)
    for name in ('consent_records', 'consent_texts', 'consent_purposes', 'org_data_keys'):
        op.drop_table(name)
