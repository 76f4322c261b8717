"""What happens around an enterprise: visits, follow-ups, issues, documents."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import SoftDeleteMixin, TimestampMixin, UTCDateTime, VersionedMixin
from crm.models.enterprise import Contact, Enterprise
from crm.models.org import OrgUnit, User
from crm.models.types import (
    DocumentKind,
    Flag,
    FollowUpStatus,
    IssueCategory,
    IssueStatus,
    VisitKind,
    str_enum,
)

visit_participant = Table(
    "visit_participant",
    db.metadata,
    Column("visit_id", ForeignKey("visit.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True),
)

visit_contact = Table(
    "visit_contact",
    db.metadata,
    Column("visit_id", ForeignKey("visit.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "contact_id", ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class Visit(TimestampMixin, VersionedMixin, SoftDeleteMixin, db.Model):
    """A visit or event: door-knocking, leader-led trip, inspection, promotion, signing, call."""

    __tablename__ = "visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[VisitKind] = mapped_column(str_enum(VisitKind))
    visit_date: Mapped[date] = mapped_column(Date)
    place: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    concerns: Mapped[str | None] = mapped_column(Text)
    flag: Mapped[Flag] = mapped_column(
        str_enum(Flag), default=Flag.NONE, server_default=Flag.NONE.value
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    enterprise: Mapped[Enterprise] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    participants: Mapped[list[User]] = relationship(secondary=visit_participant, order_by=User.name)
    contacts_met: Mapped[list[Contact]] = relationship(
        secondary=visit_contact, order_by=Contact.name
    )


class FollowUp(TimestampMixin, VersionedMixin, SoftDeleteMixin, db.Model):
    """A next step with a due date and an owner (often from a visit)."""

    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("visit.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    due_date: Mapped[date] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    status: Mapped[FollowUpStatus] = mapped_column(
        str_enum(FollowUpStatus),
        default=FollowUpStatus.OPEN,
        server_default=FollowUpStatus.OPEN.value,
    )
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    enterprise: Mapped[Enterprise] = relationship()
    visit: Mapped[Visit | None] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])

    __table_args__ = (Index("ix_follow_up_owner_status_due", "owner_id", "status", "due_date"),)


class EnterpriseIssue(TimestampMixin, VersionedMixin, SoftDeleteMixin, db.Model):
    """An enterprise issue (诉求): what the enterprise asks the government to solve."""

    __tablename__ = "enterprise_issue"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("visit.id", ondelete="SET NULL"), index=True
    )
    category: Mapped[IssueCategory] = mapped_column(str_enum(IssueCategory))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[IssueStatus] = mapped_column(
        str_enum(IssueStatus), default=IssueStatus.NEW, server_default=IssueStatus.NEW.value
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_unit.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # The workflow (crm/issues/workflow.py): the deadline of the next step (NULL when
    # no step is due), when it was accepted / last resolved / closed, the last
    # callback's satisfaction (1–5) and how often an unsatisfied callback reopened it.
    step_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    enterprise: Mapped[Enterprise] = relationship()
    visit: Mapped[Visit | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    unit: Mapped[OrgUnit | None] = relationship()


class Document(TimestampMixin, SoftDeleteMixin, db.Model):
    """An uploaded file; the bytes live in the configured storage folder, not the database."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("visit.id", ondelete="SET NULL"), index=True
    )
    issue_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprise_issue.id", ondelete="SET NULL"), index=True
    )
    # A photo taken during an on-site verification (实地核查) of a supervision item.
    check_id: Mapped[int | None] = mapped_column(
        ForeignKey("supervision_check.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind))
    title: Mapped[str | None] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    enterprise: Mapped[Enterprise] = relationship()
    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id])


class TimelineEvent(db.Model):
    """One entry of the enterprise's file (一企一档).

    Every activity writes one row here carrying everything needed to show it
    (kind, subject, a small JSON payload with the summary and the field
    changes), so the file is a single indexed query on (enterprise, time)
    rather than a union over every activity table.
    """

    __tablename__ = "timeline_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(db.JSON, default=dict)

    actor: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_timeline_enterprise_time", "enterprise_id", "occurred_at", "id"),
        Index("ix_timeline_subject", "subject_type", "subject_id"),
    )
