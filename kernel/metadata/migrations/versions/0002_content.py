"""Content: AI generation steps and latency, and the knowledge base for fact checks.

Revision ID: content
Revises: 0002
Create Date: 2026-12-02

``ai_generations`` gains ``step``, ``latency_ms``, ``error`` and an (org_id, magnet_id)
index (uniqueness checks read the generations of other magnets). ``knowledge_documents``
and ``knowledge_passages`` hold an organization's reference documents, cut into passages
that the fact check retrieves with BM25. Types are spelled out, as in 0001.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "content"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# kernel.metadata.types.UTCDateTime stores through this type.
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("ai_generations", sa.Column("step", sa.String(length=32), server_default="generate", nullable=False))
    op.add_column("ai_generations", sa.Column("latency_ms", sa.Integer(), server_default="0", nullable=False))
    op.add_column("ai_generations", sa.Column("error", sa.Text(), nullable=True))
    op.create_index("ix_ai_generations_org_id_magnet_id", "ai_generations", ["org_id", "magnet_id"], unique=False)

    op.create_table("knowledge_documents",
    sa.Column("id", sa.String(length=40), nullable=False),
    sa.Column("org_id", sa.String(length=40), nullable=False),
    sa.Column("title", sa.String(length=300), nullable=False),
    sa.Column("filename", sa.String(length=300), server_default="", nullable=False),
    sa.Column("media_type", sa.String(length=100), nullable=False),
    sa.Column("sha256", sa.String(length=64), nullable=False),
    sa.Column("size_bytes", sa.BigInteger(), nullable=False),
    sa.Column("chars", sa.Integer(), server_default="0", nullable=False),
    sa.Column("passage_count", sa.Integer(), server_default="0", nullable=False),
    sa.Column("created_by", sa.String(length=40), nullable=True),
    sa.Column("created_at", TIMESTAMP, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_knowledge_documents_created_by_users"), ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f("fk_knowledge_documents_org_id_organizations"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_documents")),
    sa.UniqueConstraint("org_id", "sha256", name=op.f("uq_knowledge_documents_org_id_sha256"))
    )
    op.create_index("ix_knowledge_documents_org_id_created_at", "knowledge_documents", ["org_id", "created_at"], unique=False)

    op.create_table("knowledge_passages",
    sa.Column("id", sa.String(length=40), nullable=False),
    sa.Column("org_id", sa.String(length=40), nullable=False),
    sa.Column("document_id", sa.String(length=40), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("heading", sa.String(length=300), server_default="", nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(["document_id"], ["knowledge_documents.id"], name=op.f("fk_knowledge_passages_document_id_knowledge_documents"), ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f("fk_knowledge_passages_org_id_organizations"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_passages")),
    sa.UniqueConstraint("document_id", "position", name=op.f("uq_knowledge_passages_document_id_position"))
    )
    op.create_index("ix_knowledge_passages_org_id", "knowledge_passages", ["org_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_knowledge_passages_org_id", table_name="knowledge_passages")
    op.drop_table("knowledge_passages")
    op.drop_index("ix_knowledge_documents_org_id_created_at", table_name="knowledge_documents")
    op.drop_table("knowledge_documents")
    op.drop_index("ix_ai_generations_org_id_magnet_id", table_name="ai_generations")
    with op.batch_alter_table("ai_generations") as batch:
        batch.drop_column("error")
        batch.drop_column("latency_ms")
        batch.drop_column("step")
