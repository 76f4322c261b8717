"""Reminder tasks: beat runs ``sweep`` every minute; ``send_reminder`` sends one row by id.

The row, not the message, is the promise (crm.reminders.delivery): a lost or
repeated message costs nothing but a second look at the row.
"""

from __future__ import annotations

from celery import shared_task

from crm.extensions import db
from crm.reminders import delivery

# Retries back off 15 s, 30 s, 1 min … and never wait longer than 5 minutes, well
# inside the claim lease (delivery.STALE_CLAIM): no reminder waits as a long ETA message.
RETRY_BASE_SECONDS = 15
RETRY_CAP_SECONDS = 300


@shared_task(name="tasks.reminders.sweep", ignore_result=True)
def sweep() -> int:
    """Claim the due reminders, commit, then enqueue one send per row."""
    ids = delivery.claim_due()
    db.session.commit()
    for reminder_id in ids:
        send_reminder.delay(reminder_id)
    return len(ids)


def retry_delay(retries: int) -> int:
    return min(RETRY_BASE_SECONDS * 2**retries, RETRY_CAP_SECONDS)


@shared_task(
    bind=True,
    name="tasks.reminders.send",
    acks_late=True,
    max_retries=None,  # the lease decides: after it lapses the next sweep takes over
    ignore_result=True,
)
def send_reminder(self, reminder_id: int) -> str:
    outcome = delivery.send(reminder_id)
    db.session.commit()
    if outcome.retry:
        raise self.retry(countdown=retry_delay(self.request.retries))
    return outcome.status
