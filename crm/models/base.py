"""Column types and mixins shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, func
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class VersionedMixin:
    """Optimistic locking: every UPDATE checks and bumps ``version``.

    Forms carry the version they were rendered with; services compare it before
    changing anything, and SQLAlchemy's version check catches the race between
    that comparison and the UPDATE.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls):  # noqa: N805
        return {"version_id_col": cls.version}


class SoftDeleteMixin:
    """Rows are never deleted by users; an admin can restore them."""

    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @declared_attr
    def deleted_by_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(ForeignKey("user.id", ondelete="SET NULL"), nullable=True)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


def exists_on(obj, dialect_name: str) -> bool:
    """False for schema items declared for another database only (``.ddl_if(dialect=...)``).

    Alembic's autogenerate ignores ``ddl_if``; migrations/env.py and the schema
    test use this so a PostgreSQL-only index is not "missing" on SQLite.
    """
    condition = getattr(obj, "_ddl_if", None)
    return condition is None or condition.dialect in (None, dialect_name)


class WanAmount(TypeDecorator):
    """An amount in 万元 (a Decimal with up to four places), stored as whole yuan.

    1 万元 = 10,000 yuan, so four decimal places of 万元 are exactly one yuan. As an
    integer the amount is exact on every backend: SQLite has no decimal type (its
    NUMERIC is a float), and sums over a hundred thousand floats drift.
    Columns of this type are named ``*_yuan`` in the database for that reason.
    """

    impl = BigInteger
    cache_ok = True
    PLACES = Decimal("0.0001")

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        if amount != amount.quantize(self.PLACES):
            raise ValueError(f"{amount} 万元 has more than four decimal places")
        return int(amount.scaleb(4))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-4)

    @property
    def python_type(self):
        return Decimal
