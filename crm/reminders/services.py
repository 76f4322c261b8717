"""What admins see of the mail: the delivery log, resending a failed reminder, the outbox folder."""

from __future__ import annotations

import email
from dataclasses import dataclass
from datetime import datetime
from email import policy
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from crm.errors import ServiceError
from crm.extensions import db
from crm.models import Reminder, ReminderStatus
from crm.models.base import utcnow
from crm.text import excerpt

OUTBOX_LIMIT = 100


def deliveries_query(status: ReminderStatus | None = None) -> Select:
    """Reminders newest first (by when they were due), optionally of one status."""
    stmt = select(Reminder).options(joinedload(Reminder.recipient))
    if status is not None:
        stmt = stmt.where(Reminder.status == status)
    return stmt.order_by(Reminder.due_at.desc(), Reminder.id.desc())


def resend(reminder: Reminder) -> None:
    """Put a failed reminder back in the queue: the next sweep sends it (same Message-ID)."""
    if reminder.status != ReminderStatus.FAILED:
        raise ServiceError(_l("Only a failed message can be sent again."))
    reminder.status = ReminderStatus.PENDING
    reminder.due_at = utcnow()
    reminder.claimed_at = None
    db.session.flush()


@dataclass
class OutboxMessage:
    name: str
    written_at: datetime
    to: str
    subject: str
    text: str


def outbox_messages(folder: Path, limit: int = OUTBOX_LIMIT) -> list[OutboxMessage]:
    """The newest messages written to the outbox folder (the embedded default's "sent" mail)."""
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.eml"), key=lambda path: path.name, reverse=True)[:limit]
    messages = []
    for path in files:
        with path.open("rb") as fh:
            parsed = email.message_from_binary_file(fh, policy=policy.default)
        body = parsed.get_body(("plain",))
        messages.append(
            OutboxMessage(
                name=path.name,
                written_at=datetime.fromtimestamp(path.stat().st_mtime).astimezone(),
                to=str(parsed["To"] or ""),
                subject=str(parsed["Subject"] or ""),
                text=excerpt(body.get_content() if body else "", 2000, keep_lines=True),
            )
        )
    return messages
