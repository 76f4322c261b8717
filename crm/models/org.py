"""Organisation units and users."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import TimestampMixin, UTCDateTime, VersionedMixin
from crm.models.types import Role, UnitKind, str_enum

user_unit = Table(
    "user_unit",
    db.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("org_unit.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class OrgUnit(TimestampMixin, VersionedMixin, db.Model):
    """A node of the organisation tree (bureau, county, park, task force, office).

    ``path`` is the materialised path of ids ("/1/4/9/"), so "everything under
    this unit" is one indexed prefix match instead of a recursive query.
    """

    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[UnitKind] = mapped_column(str_enum(UnitKind))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_unit.id", ondelete="RESTRICT"), index=True
    )
    path: Mapped[str] = mapped_column(String(255), index=True, default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[OrgUnit]] = relationship(
        back_populates="parent", order_by="OrgUnit.sort_order"
    )

    __table_args__ = (UniqueConstraint("parent_id", "name", name="uq_org_unit_parent_name"),)

    @property
    def depth(self) -> int:
        return max(self.path.count("/") - 2, 0)

    def __repr__(self) -> str:
        return f"<OrgUnit {self.id} {self.name}>"


class User(UserMixin, TimestampMixin, VersionedMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.STAFF)
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN", server_default="zh_CN")
    phone: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # Bumped on password change / deactivation: sessions carrying an old value are dropped.
    session_token: Mapped[str] = mapped_column(String(64), default="", server_default="")
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Reminder preferences: how long before a due date the first mail comes (0: none
    # before, only on the day), and whether single mails wait for a daily digest
    # sent at ``digest_hour`` (local time).
    remind_before_minutes: Mapped[int] = mapped_column(
        Integer, default=24 * 60, server_default=str(24 * 60)
    )
    reminder_digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    digest_hour: Mapped[int] = mapped_column(Integer, default=8, server_default="8")

    units: Mapped[list[OrgUnit]] = relationship(
        secondary=user_unit, lazy="selectin", order_by=OrgUnit.path
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: the id plus the session token
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class LoginAttempt(db.Model):
    """Failed and successful sign-ins, for throttling per account and per address."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
