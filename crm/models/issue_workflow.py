"""The enterprise-issue workflow (诉求): per-category deadline rules and every step taken."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, SmallInteger, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import TimestampMixin, UTCDateTime, VersionedMixin
from crm.models.org import User
from crm.models.types import IssueCategory, IssueStatus, str_enum

# The deadlines when a category has no rule of its own (江门: 60 minutes to respond,
# 24 hours to propose a solution, 7 days to close).
DEFAULT_RESPOND_MINUTES = 60
DEFAULT_SOLUTION_MINUTES = 24 * 60
DEFAULT_CLOSE_MINUTES = 7 * 24 * 60


class IssueRule(TimestampMixin, VersionedMixin, db.Model):
    """How long each step of an issue of one category may take: data an admin edits."""

    __tablename__ = "issue_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[IssueCategory] = mapped_column(str_enum(IssueCategory), unique=True)
    respond_minutes: Mapped[int] = mapped_column(Integer)
    solution_minutes: Mapped[int] = mapped_column(Integer)
    close_minutes: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint(
            "respond_minutes > 0 AND solution_minutes > 0 AND close_minutes > 0",
            name="positive",
        ),
    )


class IssueStep(db.Model):
    """One step of an issue's workflow (or a reassignment: same status before and after).

    ``due_at`` is the deadline that was in force for this step when it was taken
    (NULL for steps without one: callback, close, reassignment).
    """

    __tablename__ = "issue_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("enterprise_issue.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[IssueStatus] = mapped_column(str_enum(IssueStatus))
    to_status: Mapped[IssueStatus] = mapped_column(str_enum(IssueStatus))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger)

    actor: Mapped[User | None] = relationship(lazy="joined")

    @property
    def late(self) -> bool:
        return self.due_at is not None and self.at > self.due_at

    __table_args__ = (
        Index("ix_issue_step_issue_at", "issue_id", "at"),
        CheckConstraint(
            "satisfaction IS NULL OR (satisfaction >= 1 AND satisfaction <= 5)",
            name="satisfaction",
        ),
    )
