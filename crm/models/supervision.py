"""Supervision (督办): a deadline and a responsible unit on a project step or an issue,
checked on site (实地核查); and the escalations of anything overdue."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.activity import EnterpriseIssue
from crm.models.base import SoftDeleteMixin, TimestampMixin, UTCDateTime, VersionedMixin, utcnow
from crm.models.enterprise import Enterprise
from crm.models.org import OrgUnit, User
from crm.models.project import Project
from crm.models.types import CheckOutcome, ProjectStage, SupervisionStatus, str_enum


class SupervisionItem(TimestampMixin, VersionedMixin, SoftDeleteMixin, db.Model):
    """督办事项: e.g. "start construction by June", owned by a unit, checked on site."""

    __tablename__ = "supervision_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    issue_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprise_issue.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    # For a project step: the stage the project must reach by the due date.
    target_stage: Mapped[ProjectStage | None] = mapped_column(str_enum(ProjectStage))
    due_date: Mapped[date] = mapped_column(Date)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="RESTRICT"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    status: Mapped[SupervisionStatus] = mapped_column(
        str_enum(SupervisionStatus),
        default=SupervisionStatus.OPEN,
        server_default=SupervisionStatus.OPEN.value,
    )
    note: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    enterprise: Mapped[Enterprise] = relationship()
    project: Mapped[Project | None] = relationship()
    issue: Mapped[EnterpriseIssue | None] = relationship()
    unit: Mapped[OrgUnit] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    checks: Mapped[list[SupervisionCheck]] = relationship(
        back_populates="item", order_by="SupervisionCheck.checked_on.desc()"
    )

    __table_args__ = (
        CheckConstraint(
            "project_id IS NOT NULL OR issue_id IS NOT NULL", name="on_project_or_issue"
        ),
        Index("ix_supervision_item_status_due", "status", "due_date"),
    )


class SupervisionCheck(db.Model):
    """实地核查: what was found on site, when and by whom; photos are Documents."""

    __tablename__ = "supervision_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("supervision_item.id", ondelete="CASCADE"), index=True
    )
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    checked_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[CheckOutcome] = mapped_column(str_enum(CheckOutcome))
    findings: Mapped[str] = mapped_column(Text)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[SupervisionItem] = relationship(back_populates="checks")
    checked_by: Mapped[User | None] = relationship()


class Escalation(db.Model):
    """An overdue (or reopened) item raised to the managers of one level of the organisation.

    Level 1 is the responsible unit's managers, level 2 the next unit up that has
    managers, and so on. The unique constraint is the rule "at most one
    escalation per level": two sweeps racing both try, one row results.
    """

    __tablename__ = "escalation"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[int] = mapped_column(SmallInteger)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(20))  # overdue, reopened, stalled, funds
    occasion_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the deadline missed
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[OrgUnit | None] = relationship()

    __table_args__ = (
        UniqueConstraint("subject_type", "subject_id", "level", name="uq_escalation_level"),
    )
