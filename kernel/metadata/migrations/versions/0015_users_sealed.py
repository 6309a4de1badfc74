"""users.email encrypted at rest, looked up by a blind index keyed by the master key.

Revision ID: users_sealed
Revises: suppression_sealed
Create Date: 2026-12-03

A team account's address moves to ``email_ct`` (AES-256-GCM under the organization's data
key, as leads' since ``privacy_keys``) and ``email_index``, which replaces it in the
uniqueness constraint and is indexed on its own. Unlike leads', this index is an HMAC under
a key derived from the master key (``kernel.crypto.Keyring.account_index``), the same in
every organization: sign-in looks an address up across organizations in one query.
Existing rows are encrypted here with the master key of the process that migrates
(LODESTONE_MASTER_KEY, or the data directory's in development); an organization without a
data key yet gets one. Downgrade decrypts back into ``email``.
"""

import os
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'users_sealed'
down_revision: str | Sequence[str] | None = 'suppression_sealed'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PURPOSE = 'users.email'  # the associated data of kernel.metadata.sealed


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
        key = ring.unwrap(org_id, bytes(row.wrapped), row.master_key_id)
    keys[org_id] = DataKey.of(org_id, key)
    return keys[org_id]


def upgrade() -> None:
    """Upgrade schema: ciphertext and account index filled from the address, which goes."""
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('email_ct', sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column('email_index', sa.String(length=64), nullable=True))
    conn = op.get_bind()
    ring, keys = None, {}  # type: ignore[var-annotated]
    for row in conn.execute(sa.text('SELECT id, org_id, email FROM users')).all():
        ring = ring or _keyring()
        dk = _data_key(conn, ring, row.org_id, keys)
        email = row.email.strip().lower()
        conn.execute(sa.text('UPDATE users SET email_ct = :ct, email_index = :ix WHERE id = :id'),
                     {'ct': dk.seal(email.encode(), PURPOSE), 'ix': ring.account_index(email),
                      'id': row.id})
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint('uq_users_org_id_email', type_='unique')
        batch.alter_column('email_ct', existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column('email_index', existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint('uq_users_org_id_email_index', ['org_id', 'email_index'])
        batch.create_index('ix_users_email_index', ['email_index'])
        batch.drop_column('email')


def downgrade() -> None:
    """Downgrade schema: the plain address back, decrypted (needs the master key)."""
    conn = op.get_bind()
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('email', sa.String(length=320), nullable=True))
    ring, keys = None, {}  # type: ignore[var-annotated]
    for row in conn.execute(sa.text('SELECT id, org_id, email_ct FROM users')).all():
        ring = ring or _keyring()
        dk = _data_key(conn, ring, row.org_id, keys)
        conn.execute(sa.text('UPDATE users SET email = :e WHERE id = :id'),
                     {'e': dk.open(bytes(row.email_ct), PURPOSE).decode(), 'id': row.id})
    with op.batch_alter_table('users') as batch:
        batch.drop_index('ix_users_email_index')
        batch.drop_constraint('uq_users_org_id_email_index', type_='unique')
        batch.alter_column('email', existing_type=sa.String(length=320), nullable=False)
        batch.create_unique_constraint('uq_users_org_id_email', ['org_id', 'email'])
        batch.drop_column('email_ct')
        batch.drop_column('email_index')
