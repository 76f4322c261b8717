"""Enterprises, their units and the search index."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DDL,
    Boolean,
    Column,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import SoftDeleteMixin, TimestampMixin, UTCDateTime, VersionedMixin, utcnow
from crm.models.org import OrgUnit, User
from crm.models.reference import Chamber, Industry

enterprise_unit = Table(
    "enterprise_unit",
    db.metadata,
    Column("enterprise_id", ForeignKey("enterprise.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("org_unit.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Enterprise(TimestampMixin, VersionedMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "enterprise"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))
    industry_id: Mapped[int | None] = mapped_column(
        ForeignKey("industry.id", ondelete="SET NULL"), index=True
    )
    # Ranking tags: the list year, or NULL when the enterprise is not on the list.
    fortune_global_500_year: Mapped[int | None] = mapped_column(SmallInteger)
    china_top_500_year: Mapped[int | None] = mapped_column(SmallInteger)
    china_private_500_year: Mapped[int | None] = mapped_column(SmallInteger)
    is_listed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    is_foreign_invested: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    is_settled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    is_reinvesting: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    chamber_id: Mapped[int | None] = mapped_column(
        ForeignKey("chamber.id", ondelete="SET NULL"), index=True
    )
    responsible_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    description: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Denormalised for search: pinyin of the name, its initials, and one
    # lower-case haystack of every latin-script field (pinyin, English, code).
    name_pinyin: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    name_initials: Mapped[str] = mapped_column(String(200), default="", server_default="")
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The materialised paths of the enterprise's units ("|/1/4/|/1/9/|"), kept in
    # step by crm.access: "inside one of my units" becomes a cheap test on the
    # row itself (path containment) instead of a subquery both databases plan badly.
    unit_paths: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    last_activity_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, server_default=db.func.now()
    )

    industry: Mapped[Industry | None] = relationship(lazy="joined")
    chamber: Mapped[Chamber | None] = relationship(lazy="joined")
    responsible: Mapped[User | None] = relationship(foreign_keys=[responsible_id], lazy="joined")
    units: Mapped[list[OrgUnit]] = relationship(
        secondary=enterprise_unit, lazy="selectin", order_by=OrgUnit.path
    )

    __table_args__ = (
        Index("ix_enterprise_live_activity", "deleted_at", "last_activity_at"),
        # The register lists by (last_activity_at, id) descending. PostgreSQL
        # does not treat "deleted_at IS NULL" as fixing the first column of the
        # index above, so without this it sorts the whole table for every page.
        Index("ix_enterprise_activity", "last_activity_at", "id"),
        Index("ix_enterprise_name", "name"),
        # Pinyin, initials, English name and code are matched with LIKE '%...%';
        # on PostgreSQL a trigram index answers those of three letters or more.
        Index(
            "ix_enterprise_search_text_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    @property
    def tags(self) -> list[str]:
        """Tag keys in display order (labels are translated in templates)."""
        keys = []
        if self.fortune_global_500_year:
            keys.append("fortune_global_500")
        if self.china_top_500_year:
            keys.append("china_top_500")
        if self.china_private_500_year:
            keys.append("china_private_500")
        for key in ("is_listed", "is_foreign_invested", "is_settled", "is_reinvesting"):
            if getattr(self, key):
                keys.append(key)
        return keys

    def __repr__(self) -> str:
        return f"<Enterprise {self.id} {self.name}>"


class EnterpriseGram(db.Model):
    """Posting list of the one- and two-character pieces of Chinese names.

    A substring search for 蒙牛 or 长盈 is then an index lookup, not a scan of
    every name (LIKE '%..%' cannot use a B-tree, and trigram indexes need three
    characters).
    """

    __tablename__ = "enterprise_gram"

    gram: Mapped[str] = mapped_column(String(2), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Contact(TimestampMixin, VersionedMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    wechat: Mapped[str | None] = mapped_column(String(100))
    is_main: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    known_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    notes: Mapped[str | None] = mapped_column(Text)

    enterprise: Mapped[Enterprise] = relationship()
    known_by: Mapped[User | None] = relationship(foreign_keys=[known_by_id])


class Note(TimestampMixin, VersionedMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "note"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    enterprise: Mapped[Enterprise] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


__all__ = ["Enterprise", "EnterpriseGram", "Contact", "Note", "enterprise_unit"]


# create_all (tests) needs the extension behind the trigram index, as the migration does.
event.listen(
    db.metadata,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)
