"""Reminders: one row per e-mail that must go out, never a delayed broker message.

A broker can redeliver or lose delayed messages (celery#3270, kombu#337,
celery#1307); a row with a unique ``dedupe_key`` cannot be lost, and a send
that finds it already ``sent`` does nothing. See crm.reminders.delivery.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import UTCDateTime, utcnow
from crm.models.org import User
from crm.models.types import ReminderStatus, str_enum


class Reminder(db.Model):
    __tablename__ = "reminder"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What and for whom: e.g. "follow_up.due" about follow_up 42 for user 7.
    kind: Mapped[str] = mapped_column(String(40))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE")
    )
    subject: Mapped[str] = mapped_column(String(300))  # the mail's subject line
    body: Mapped[str] = mapped_column(Text)  # the plain-text part
    body_html: Mapped[str | None] = mapped_column(Text)  # the HTML part (built from body if NULL)
    # The deadline this reminder is about (the item's due moment); NULL for digests, reports.
    occasion_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # For an escalation: the organisation level it raises the item to (see Escalation).
    level: Mapped[int | None] = mapped_column(SmallInteger)
    # A reminder held for a daily digest points at the digest that carried it.
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("reminder.id", ondelete="SET NULL"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # One reminder per (kind, item, recipient, occasion): scheduling twice adds nothing.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[ReminderStatus] = mapped_column(
        str_enum(ReminderStatus), default=ReminderStatus.PENDING, server_default="pending"
    )
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    recipient: Mapped[User] = relationship()

    __table_args__ = (
        Index("ix_reminder_status_due", "status", "due_at"),
        Index("ix_reminder_subject", "subject_type", "subject_id"),
        Index("ix_reminder_recipient_status", "recipient_id", "status"),
    )

    @property
    def message_id(self) -> str:
        """The same Message-ID on every attempt, so a receiver can drop a duplicate."""
        digest = hashlib.sha256(self.dedupe_key.encode()).hexdigest()[:20]
        return f"<reminder-{self.id}.{digest}@crm.reminders>"
