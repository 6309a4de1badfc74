"""Declarative base, constraint naming convention and the columns every table shares."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from kernel.metadata.ids import ID_LENGTH, PREFIXES, new_id
from kernel.metadata.types import UTCDateTime, utcnow

#: Deterministic constraint names: Alembic batch mode on SQLite and later migrations
#: need to refer to constraints by name, and autogenerate compares them.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of all metadata models; ``Base.metadata`` is what the migrations build."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def str_enum(enum_cls: type[StrEnum], name: str) -> sa.Enum:
    """A portable enum column type: VARCHAR(32) with a CHECK on the member *values*."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


def id_column(table: str) -> Mapped[str]:
    """String primary key filled with ``new_id(PREFIXES[table])``."""
    prefix = PREFIXES[table]
    return mapped_column(
        sa.String(ID_LENGTH), primary_key=True, default=lambda: new_id(prefix), sort_order=-10
    )


def id_ref(target: str, *, nullable: bool = False, ondelete: str | None = None) -> Mapped[str]:
    """Foreign key column to ``<target>.id``."""
    return mapped_column(
        sa.String(ID_LENGTH), sa.ForeignKey(f"{target}.id", ondelete=ondelete), nullable=nullable
    )


class CreatedAt:
    """``created_at``: set by the application (UTC) with a server default for raw inserts."""

    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, server_default=sa.func.now(), sort_order=100
    )


class Timestamps(CreatedAt):
    """``created_at`` plus ``updated_at``, refreshed on every ORM update."""

    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(),
        nullable=False,
        default=utcnow,
        onupdate=utcnow,
        server_default=sa.func.now(),
        sort_order=101,
    )


class OrgScoped:
    """Tenant column. Each table declares an index whose leading column is ``org_id``.

    Deleting an organization deletes its rows (ON DELETE CASCADE): it is the only path
    that removes audit records, and it exists for tenant erasure.
    """

    @declared_attr
    def org_id(cls) -> Mapped[str]:
        return mapped_column(
            sa.String(ID_LENGTH),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
            sort_order=-9,
        )
