"""Reminders are claimed once and sent once, through a real SMTP server on loopback.

The server (aiosmtpd) answers as each test tells it: 250, a 4xx (try later) or a
5xx (refused for good); it records what it accepted.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.models import Reminder, ReminderStatus, Role, TimelineEvent, UnitKind
from crm.models.base import utcnow
from crm.reminders import delivery


@pytest.fixture
def due(app, db, make_unit, make_user, make_enterprise):
    county = make_unit("翠屏区", UnitKind.COUNTY)
    user = make_user(Role.STAFF, [county], email="staff@example.test")
    firm = make_enterprise("宜宾长盈精密技术有限公司", units=[county])

    def _schedule(key="follow_up:1:due", minutes_ago=1, enterprise=True):
        added = delivery.schedule(
            kind="note.due",
            recipient=user,
            subject_type="note",
            subject_id=1,
            enterprise_id=firm.id if enterprise else None,
            due_at=utcnow() - timedelta(minutes=minutes_ago),
            dedupe_key=key,
            subject="跟进提醒：宜宾长盈",
            body="今天到期：回访用地问题。",
        )
        db.session.commit()
        return added

    return _schedule


def _only(db) -> Reminder:
    db.session.expire_all()
    return db.session.execute(select(Reminder)).scalar_one()


def test_scheduling_twice_adds_one_row(app, db, due):
    with app.app_context():
        assert due() is True
        assert due() is False
        assert db.session.query(Reminder).count() == 1


def test_a_due_reminder_is_claimed_once_and_sent_once(app, db, due, smtp):
    with app.test_request_context():
        due()
        due(key="later", minutes_ago=-60)  # not due yet
        first = delivery.claim_due()
        db.session.commit()
        second = delivery.claim_due()
        db.session.commit()
        assert len(first) == 1 and second == []
        outcome = delivery.send(first[0])
        db.session.commit()
        assert outcome.status == "sent"
        again = delivery.send(first[0])  # a redelivered task
        db.session.commit()
        assert again.status == "skipped"
    assert len(smtp.received) == 1
    message = smtp.messages()[0]
    assert message["Subject"] == "跟进提醒：宜宾长盈"
    assert message.get_body(("plain",)).get_content().strip() == "今天到期：回访用地问题。"
    assert "今天到期" in message.get_body(("html",)).get_content()
    reminder = db.session.get(Reminder, first[0])
    assert reminder.status == ReminderStatus.SENT and reminder.attempts == 1
    assert message["Message-ID"] == reminder.message_id
    event = db.session.execute(
        select(TimelineEvent).where(TimelineEvent.kind == "reminder.sent")
    ).scalar_one()
    assert event.data["title"] == "跟进提醒：宜宾长盈"


def test_try_later_answers_are_retried_until_accepted(app, db, due, smtp):
    smtp.answer = "451 4.3.0 try again later"
    with app.test_request_context():
        due()
        (rid,) = delivery.claim_due()
        db.session.commit()
        outcome = delivery.send(rid)
        db.session.commit()
        assert outcome.retry and outcome.error.startswith("451")
        assert _only(db).status == ReminderStatus.QUEUED
        smtp.answer = "250 OK"
        assert delivery.send(rid).status == "sent"
        db.session.commit()
    reminder = _only(db)
    assert (reminder.status, reminder.attempts, reminder.last_error) == (
        ReminderStatus.SENT,
        2,
        None,
    )
    assert len(smtp.received) == 1


def test_a_server_that_is_down_is_retried(app, db, due, smtp):
    smtp.stop()
    with app.test_request_context():
        due()
        (rid,) = delivery.claim_due()
        db.session.commit()
        outcome = delivery.send(rid)
        db.session.commit()
        assert outcome.retry
        smtp.start()
        assert delivery.send(rid).status == "sent"
        db.session.commit()
    assert len(smtp.received) == 1


def test_a_refusal_is_failed_for_good_and_kept(app, db, due, smtp):
    smtp.answer = "550 5.1.1 mailbox unavailable"
    with app.test_request_context():
        due()
        (rid,) = delivery.claim_due()
        db.session.commit()
        outcome = delivery.send(rid)
        db.session.commit()
        assert outcome.status == "failed"
        assert delivery.send(rid).status == "skipped"  # not retried
        db.session.commit()
        assert delivery.claim_due() == []
    reminder = _only(db)
    assert reminder.status == ReminderStatus.FAILED
    assert reminder.last_error.startswith("550")
    assert smtp.received == []


def test_a_claim_that_never_finished_is_claimed_again(app, db, due, smtp):
    """A broker message lost (Redis restarted) or a worker killed after the claim."""
    with app.test_request_context():
        due()
        (rid,) = delivery.claim_due()
        db.session.commit()
        assert delivery.claim_due(utcnow() + timedelta(minutes=1)) == []
        assert delivery.claim_due(utcnow() + delivery.STALE_CLAIM + timedelta(minutes=1)) == [rid]
        db.session.commit()
        assert delivery.send(rid).status == "sent"
        db.session.commit()
    assert len(smtp.received) == 1


def _in_threads(app, work, count=2):
    """Run ``work()`` in ``count`` threads at once, each with its own session; their results."""
    import threading

    barrier = threading.Barrier(count)
    results = [None] * count
    errors = []

    def run(index):
        try:
            with app.test_request_context():
                barrier.wait()
                results[index] = work()
                from crm.extensions import db as _db

                _db.session.commit()
                _db.session.remove()
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    return results


def test_two_sweeps_at_once_claim_every_row_exactly_once(app, db, due):
    with app.app_context():
        for n in range(40):
            due(key=f"follow_up:{n}:due")
        ids = sorted(db.session.execute(select(Reminder.id)).scalars())
    first, second = _in_threads(app, delivery.claim_due)
    assert sorted(first + second) == ids
    assert set(first).isdisjoint(second)


def test_two_sends_of_one_reminder_at_once_deliver_one_mail(app, db, due, smtp):
    with app.test_request_context():
        due()
        (rid,) = delivery.claim_due()
        db.session.commit()
    outcomes = _in_threads(app, lambda: delivery.send(rid).status)
    assert sorted(outcomes) == ["sent", "skipped"]
    assert len(smtp.received) == 1


def test_a_real_worker_sweeps_and_sends_each_due_reminder_once(app, db, due, smtp):
    """Beat's sweep task, run by a worker process started from wsgi.py (Redis in CI)."""
    import time

    from tasks.reminders import sweep
    from tests.worker import celery_worker

    with app.app_context():
        for n in range(3):
            due(key=f"follow_up:{n}:due")
    env = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port)}
    with celery_worker(env):
        sweep.delay()
        sweep.delay()  # a second beat, or the next minute: nothing is sent twice
        deadline = time.monotonic() + 60
        while len(smtp.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # anything extra would arrive now
    assert len(smtp.received) == 3
    with app.app_context():
        db.session.expire_all()
        statuses = db.session.execute(select(Reminder.status)).scalars().all()
    assert statuses == [ReminderStatus.SENT] * 3
