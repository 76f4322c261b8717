"""Reminder tasks: beat runs ``sweep`` every minute; ``send_reminder`` sends one row by id.

The row, not the message, is the promise (crm.reminders.delivery): a lost or
repeated message costs nothing but a second look at the row.
"""

from __future__ import annotations

import time
from contextlib import nullcontext

from celery import shared_task
from kombu.utils.uuid import uuid

from crm.extensions import db
from crm.reminders import delivery

# Retries back off 15 s, 30 s, 1 min … and never wait longer than 5 minutes nor half
# the claim lease (REMINDER_CLAIM_LEASE_SECONDS): a retry is due again while its claim
# still holds, and no reminder waits as a long ETA message.
RETRY_BASE_SECONDS = 15
RETRY_CAP_SECONDS = 300
# One sweep claims batch after batch until nothing is due, but stops after this long
# (or half the lease) so that a backlog is shared with the next sweep, not one long task.
SWEEP_BUDGET_SECONDS = 30


def _lease_seconds() -> float:
    return delivery.claim_lease().total_seconds()


@shared_task(name="tasks.reminders.sweep", ignore_result=True)
def sweep() -> int:
    """Claim the due reminders batch by batch; after each commit, enqueue one send per row."""
    deadline = time.monotonic() + min(SWEEP_BUDGET_SECONDS, _lease_seconds() / 2)
    total = 0
    # One producer (one broker connection) for every message of the sweep: acquiring
    # one per message costs more than publishing it.
    with send_reminder.app.producer_or_acquire() as producer:
        # Declared once here, not once per message (kombu copies the queue for each).
        producer.maybe_declare(send_reminder.app.amqp.default_queue)
        while True:
            ids = delivery.claim_due()
            db.session.commit()
            _enqueue_sends(producer, ids)
            total += len(ids)
            if len(ids) < delivery.CLAIM_BATCH or time.monotonic() >= deadline:
                return total


def _enqueue_sends(producer, ids: list[int]) -> None:
    """Publish ``send_reminder(id)`` for each id: the messages ``apply_async`` would publish.

    Built with Celery's own message functions but without apply_async's per-call
    option handling, and sent through one Redis pipeline per batch (kombu's
    ``Producer.batch``; other transports publish at once): 10,000 sends in about
    a second instead of four. Not retried: if the broker is gone, the rows stay
    queued and the next sweep after the lease takes them again.
    """
    amqp = send_reminder.app.amqp
    batch = producer.batch() if hasattr(producer, "batch") else nullcontext()
    with batch:
        for reminder_id in ids:
            message = amqp.create_task_message(
                uuid(),
                send_reminder.name,
                (reminder_id,),
                {},
                argsrepr=f"({reminder_id},)",
                kwargsrepr="{}",
            )
            amqp.send_task_message(producer, send_reminder.name, message, retry=False, declare=[])


def retry_delay(retries: int, lease_seconds: float | None = None) -> int:
    """Seconds before retry number ``retries`` + 1: doubling, capped below the claim lease."""
    lease = _lease_seconds() if lease_seconds is None else lease_seconds
    cap = max(1, min(RETRY_CAP_SECONDS, int(lease // 2)))
    return min(RETRY_BASE_SECONDS * 2 ** min(retries, 16), cap)


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


@shared_task(name="tasks.reminders.plan_periodic", ignore_result=True)
def plan_periodic() -> dict:
    """What no user action plans: the daily digests, stalled projects, missing funds reports.

    Beat runs it every 10 minutes; each part commits on its own, so one failing
    part does not undo the others.
    """
    from crm.reminders import digest, project_plans

    digests = digest.plan_digests()
    db.session.commit()
    stalled = project_plans.plan_stalled()
    db.session.commit()
    funds = project_plans.plan_funds()
    db.session.commit()
    return {"digests": digests, "project_stalled": stalled, "project_funds": funds}
