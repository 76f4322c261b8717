"""Scheduling, claiming and sending reminders: the guarantees live here; Celery carries ids.

- ``schedule`` adds a row once per ``dedupe_key`` (scheduling again adds nothing).
- ``claim_due`` marks due rows as queued in one UPDATE … RETURNING, so two sweeps
  (two beats, two machines) never claim the same row; on PostgreSQL the candidate
  rows are picked ``FOR UPDATE SKIP LOCKED``. Rows queued long ago whose send never
  finished (a lost broker message, a killed worker) are claimed again.
- ``send`` first bumps ``attempts`` with a conditional UPDATE: that takes the row's
  lock (PostgreSQL) or the database's write lock (SQLite) until the caller commits,
  so a redelivered send waits and then finds the reminder sent. A duplicate e-mail
  is possible only if the process dies after the SMTP server accepted the message
  and before the commit — and then it carries the same Message-ID.

Functions flush; the caller (a Celery task, a test) commits, right after each call.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from flask import current_app
from sqlalchemy import and_, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from crm import timeline
from crm.extensions import db
from crm.mail import build_message, deliver
from crm.models import Reminder, ReminderStatus, User
from crm.models.base import utcnow

# A claimed reminder not sent after this long is claimed again by the next sweep
# (the default of the REMINDER_CLAIM_LEASE_SECONDS setting).
STALE_CLAIM = timedelta(minutes=2)
CLAIM_BATCH = 1000


def schedule(
    *,
    kind: str,
    recipient: User,
    subject_type: str,
    subject_id: int | None,
    due_at: datetime,
    dedupe_key: str,
    subject: str,
    body: str,
    enterprise_id: int | None = None,
    body_html: str | None = None,
    occasion_at: datetime | None = None,
    level: int | None = None,
) -> bool:
    """Add a reminder unless one with ``dedupe_key`` exists; True when added."""
    maker = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = db.session.execute(
        maker(Reminder)
        .values(
            kind=kind,
            recipient_id=recipient.id,
            subject_type=subject_type,
            subject_id=subject_id,
            enterprise_id=enterprise_id,
            subject=subject,
            body=body,
            body_html=body_html,
            occasion_at=occasion_at,
            level=level,
            due_at=due_at,
            dedupe_key=dedupe_key,
            status=ReminderStatus.PENDING,
            attempts=0,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Reminder.id)
    )
    return result.first() is not None


def _claim_terms(now: datetime, lease: timedelta):
    """Due and waiting, or claimed longer ago than the lease and still not sent."""
    return (
        and_(Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now),
        and_(Reminder.status == ReminderStatus.QUEUED, Reminder.claimed_at < now - lease),
    )


def _claimable(now: datetime, lease: timedelta = STALE_CLAIM):
    return or_(*_claim_terms(now, lease))


def claim_lease() -> timedelta:
    """How long a claim holds (REMINDER_CLAIM_LEASE_SECONDS, else STALE_CLAIM)."""
    seconds = current_app.config.get("REMINDER_CLAIM_LEASE_SECONDS")
    return timedelta(seconds=float(seconds)) if seconds else STALE_CLAIM


def claim_due(now: datetime | None = None, *, limit: int = CLAIM_BATCH) -> list[int]:
    """Mark up to ``limit`` due reminders as queued and return their ids (commit, then enqueue).

    Queued rows whose claim is older than the lease (``claim_lease``) are taken again.
    """
    now = now or utcnow()
    lease = claim_lease()
    claimable = _claimable(now, lease)
    if db.session.get_bind().dialect.name == "postgresql":
        candidates = (
            select(Reminder.id)
            .where(claimable)
            .order_by(Reminder.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    else:
        # SQLite answers the OR with a scan of the whole table (a million rows, ~0.2 s
        # a batch); each half alone is a range of ix_reminder_status_due.
        halves = [
            select(Reminder.id, Reminder.due_at).where(term).order_by(Reminder.due_at).limit(limit)
            for term in _claim_terms(now, lease)
        ]
        both = union_all(*(select(*half.subquery().c) for half in halves)).subquery()
        candidates = select(both.c.id).order_by(both.c.due_at).limit(limit)
    claimed = db.session.execute(
        update(Reminder)
        .where(Reminder.id.in_(candidates.scalar_subquery()), claimable)
        .values(status=ReminderStatus.QUEUED, claimed_at=now)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed.scalars())


@dataclass
class Outcome:
    """What ``send`` did: "sent", "skipped" (already sent, failed or gone), "cancelled"
    (no longer wanted), "held" (for a digest), "retry", "failed"."""

    status: str
    error: str | None = None

    @property
    def retry(self) -> bool:
        return self.status == "retry"


def _is_transient(error: Exception) -> bool:
    """4xx answers and a server that cannot be reached are worth retrying; 5xx are not."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(
        error, (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError, OSError)
    )


def _error_text(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        message = error.smtp_error
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        return f"{error.smtp_code} {message}"
    return f"{type(error).__name__}: {error}"


def _html(text: str) -> str:
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line.strip())
    return f'<!doctype html><html><body style="font-family:sans-serif">{paragraphs}</body></html>'


def send(reminder_id: int, now: datetime | None = None) -> Outcome:
    """Send one reminder unless it is already sent, failed, cancelled or held. The caller commits.

    Before sending, the item is asked whether it still wants this reminder
    (crm.reminders.planner.match): a follow-up done since, a deadline moved,
    an issue reassigned cancel it. A recipient who reads a daily digest gets the
    reminder held for the next digest instead of a mail of its own.
    """
    from crm.reminders import digest, planner  # both import this module

    now = now or utcnow()
    taken = db.session.execute(
        update(Reminder)
        .where(
            Reminder.id == reminder_id,
            Reminder.status.in_((ReminderStatus.PENDING, ReminderStatus.QUEUED)),
        )
        .values(attempts=Reminder.attempts + 1)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    ).first()
    if taken is None:
        return Outcome("skipped")
    reminder = db.session.execute(
        select(Reminder)
        .where(Reminder.id == reminder_id)
        # The recipient in the same round trip; their units are not needed to send.
        .options(joinedload(Reminder.recipient).lazyload(User.units))
        .execution_options(populate_existing=True)
    ).scalar_one()
    want = planner.match(reminder)
    if want is None:
        reminder.status = ReminderStatus.CANCELLED
        db.session.flush()
        return Outcome("cancelled")
    if planner.holds_for_digest(reminder):
        reminder.status = ReminderStatus.HELD
        db.session.flush()
        return Outcome("held")
    # Escalations are recorded before the mail goes: a refused mail still escalates.
    planner.on_send(reminder, want, now)
    prepared = digest.prepare(reminder, now) if reminder.kind == digest.KIND else None
    if reminder.kind == digest.KIND and prepared is None:
        reminder.status = ReminderStatus.CANCELLED  # nothing held for it
        db.session.flush()
        return Outcome("cancelled")
    message = build_message(
        to=reminder.recipient.email,
        subject=reminder.subject,
        text=reminder.body,
        html=reminder.body_html or _html(reminder.body),
        message_id=reminder.message_id,
    )
    # Everything "sent" means is written before the mail goes, in a savepoint undone
    # if it does not go: once the server has said 250, only the COMMIT is left, so
    # a worker killed in between (the mail then goes again, same Message-ID) is rare.
    written = db.session.begin_nested()
    if prepared is not None:
        digest.finish(prepared, reminder, now)
    mark_sent(reminder, now)
    db.session.flush()
    try:
        deliver(message)
    except Exception as error:  # noqa: BLE001 - every failure is recorded, then classified
        written.rollback()
        reminder.last_error = _error_text(error)
        if _is_transient(error):
            # Renew the lease: the sweep leaves it to this send's retries for now.
            reminder.claimed_at = now
            db.session.flush()
            return Outcome("retry", reminder.last_error)
        reminder.status = ReminderStatus.FAILED
        db.session.flush()
        return Outcome("failed", reminder.last_error)
    written.commit()
    return Outcome("sent")


def mark_sent(reminder: Reminder, now: datetime) -> None:
    """Sent, with its event in the file, in one transaction (also for digested reminders)."""
    reminder.status = ReminderStatus.SENT
    reminder.sent_at = now
    reminder.last_error = None
    if reminder.enterprise_id is not None:
        # In the same transaction as "sent": the file never claims a mail that was not marked.
        timeline.record(
            reminder.enterprise_id,
            "reminder.sent",
            actor=None,
            subject_type=reminder.subject_type,
            subject_id=reminder.subject_id,
            data={"title": reminder.subject, "kind": reminder.kind, "to": reminder.recipient.name},
            touch=False,
        )
