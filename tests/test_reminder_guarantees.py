"""The reminder guarantees, shown against real parts.

Real Celery worker and beat processes (started from wsgi.py as in production),
a real SMTP server on loopback (tests/smtp_sink.py) and, where the broker must
go away, a private redis-server this module starts itself (tests/redis_server.py).
The sweep interval and the claim lease are made short through the environment
(REMINDER_SWEEP_SECONDS, REMINDER_CLAIM_LEASE_SECONDS) so that a lapsed claim
shows in seconds.

Each mail carries its reminder's Message-ID, so "delivered exactly once" is
checked on what the server accepted: every due reminder's Message-ID once, and
nothing else.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from crm.clock import local_today
from crm.models import Reminder, ReminderStatus, Role, UnitKind
from crm.models.base import utcnow
from crm.reminders import delivery
from tests.redis_server import REDIS_SERVER, RedisServer
from tests.smtp_sink import Server
from tests.worker import CeleryProcess, beat, running

SWEEP = 1  # seconds between sweeps in these tests (60 in production)
LEASE = 6  # seconds a claim holds in these tests (120 in production)


# -- parts ---------------------------------------------------------------------------------
@pytest.fixture
def smtp():
    server = Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_server(tmp_path):
    if not os.path.exists(REDIS_SERVER) and not os.environ.get("CI"):
        # CI (.ci/run) always has it; a developer's machine may not.
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def env(tmp_path, smtp):
    """Settings for the processes: this test's SMTP server, short sweeps and leases.

    Each test gets its own instance folder, hence its own filesystem broker
    folder when the run has no Redis. With Redis (CI's second pass), the run's
    Redis database is the broker; what an earlier test left in it is dropped.
    """
    url = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL")
    if url and url.startswith("redis"):
        import redis

        redis.Redis.from_url(url).delete("celery", "unacked", "unacked_index")
    return {
        "CRM_INSTANCE_PATH": str(tmp_path / "instance"),
        "REMINDER_SWEEP_SECONDS": str(SWEEP),
        "REMINDER_CLAIM_LEASE_SECONDS": str(LEASE),
        **smtp.env(),
    }


def worker(env, **more) -> CeleryProcess:
    return CeleryProcess("worker", {**env, **more})


def a_beat(env, tmp_path, name="beat", **more) -> CeleryProcess:
    return beat(tmp_path / f"{name}-schedule", {**env, **more})


@pytest.fixture
def people(app, db, make_unit, make_user, make_enterprise):
    county = make_unit("翠屏区", UnitKind.COUNTY)
    user = make_user(Role.STAFF, [county], email="staff@example.test")
    firm = make_enterprise("宜宾长盈精密技术有限公司", units=[county])
    return user, firm


@pytest.fixture
def due(db, people):
    """Add ``count`` committed reminders (subject type "note": no plan second-guesses them)."""
    user, firm = people
    made = iter(range(1, 10_000))

    def _due(count, *, in_minutes=-1, to=None) -> list[int]:
        keys = []
        for _ in range(count):
            key = f"note:{next(made)}:due"
            delivery.schedule(
                kind="note.due",
                recipient=to or user,
                subject_type="note",
                subject_id=None,
                enterprise_id=firm.id,
                due_at=utcnow() + timedelta(minutes=in_minutes),
                dedupe_key=key,
                subject=f"跟进提醒 {key}",
                body="今天到期：回访用地问题。",
            )
            keys.append(key)
        db.session.commit()
        return (
            db.session.execute(
                select(Reminder.id).where(Reminder.dedupe_key.in_(keys)).order_by(Reminder.id)
            )
            .scalars()
            .all()
        )

    return _due


# -- reading the outcome --------------------------------------------------------------------
def rows(db, ids=None) -> dict[int, Reminder]:
    """The reminders as the database has them now (a fresh read, no transaction kept)."""
    db.session.rollback()
    query = select(Reminder)
    if ids is not None:
        query = query.where(Reminder.id.in_(list(ids)))
    found = {r.id: r for r in db.session.execute(query).scalars()}
    for reminder in found.values():
        db.session.expunge(reminder)
    db.session.rollback()
    return found


def all_sent(db, ids) -> bool:
    return all(r.status == ReminderStatus.SENT for r in rows(db, ids).values())


def wait_until(check, timeout: float, what: str, *processes: CeleryProcess) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            logs = "\n".join(
                f"--- {p.kind} {p.name or ''}\n{p.output()[-4000:]}" for p in processes
            )
            raise AssertionError(f"not within {timeout} s: {what}\n{logs}")
        time.sleep(0.1)


def assert_exactly_once(db, smtp, ids) -> None:
    """Every reminder sent, its Message-ID accepted once, and no other mail."""
    found = rows(db, ids)
    assert {r.status for r in found.values()} == {ReminderStatus.SENT}
    expected = sorted(r.message_id for r in found.values())
    assert sorted(smtp.message_ids()) == expected


def retry_waits(process: CeleryProcess) -> list[int]:
    """The countdowns the worker logged for send retries ("Retry in 3s")."""
    waits = []
    for line in process.log:
        if "tasks.reminders.send" in line and "Retry in " in line:
            waits.append(int(line.split("Retry in ")[1].split("s")[0]))
    return waits


def settle() -> None:
    """Let two more sweeps run: a second mail, if any, would arrive now."""
    time.sleep(2 * SWEEP + 1)


# -- 1. normal operation ---------------------------------------------------------------------
def test_every_due_reminder_is_delivered_exactly_once(app, db, env, smtp, due, people, tmp_path):
    from crm.visits.services import create_follow_up

    user, firm = people
    ids = due(20)
    later = due(1, in_minutes=24 * 60)  # tomorrow: must stay pending
    # Real follow-ups too: their plan (crm.reminders.plans) is asked again at send time.
    with app.test_request_context():
        for n in range(3):
            follow_up = create_follow_up(
                firm, actor=user, title=f"回访 {n}", due_date=local_today() + timedelta(days=2)
            )
            db.session.execute(
                update(Reminder)
                .where(Reminder.subject_type == "follow_up", Reminder.subject_id == follow_up.id)
                .values(due_at=utcnow() - timedelta(minutes=1))
            )
        db.session.commit()
    planned = (
        db.session.execute(select(Reminder.id).where(Reminder.subject_type == "follow_up"))
        .scalars()
        .all()
    )
    assert len(planned) >= 3
    ids += planned

    w, b = worker(env), a_beat(env, tmp_path)
    with running(w, b):
        wait_until(lambda: all_sent(db, ids), 40, "all due reminders sent", w, b)
        settle()
    assert_exactly_once(db, smtp, ids)
    assert all(r.attempts == 1 for r in rows(db, ids).values())
    (pending,) = rows(db, later).values()
    assert (pending.status, pending.claimed_at, pending.attempts) == (
        ReminderStatus.PENDING,
        None,
        0,
    )
    assert w.output().count("tasks.reminders.sweep") >= 2  # beat kept sweeping


# -- 2. a server that says "later", one that is down, one that refuses ------------------------
def test_try_later_and_a_server_down_are_retried_until_delivered(app, db, env, smtp, due, tmp_path):
    w, b = worker(env), a_beat(env, tmp_path)
    with running(w, b):
        smtp.answer = "451 4.3.0 try again later"
        later = due(3)
        wait_until(
            lambda: all(r.attempts >= 2 for r in rows(db, later).values()),
            30,
            "each send tried twice",
            w,
            b,
        )
        assert smtp.count() == 0 and smtp.refused >= 6
        assert all(r.last_error.startswith("451") for r in rows(db, later).values())
        assert {r.status for r in rows(db, later).values()} == {ReminderStatus.QUEUED}
        smtp.answer = "250 OK"
        wait_until(lambda: all_sent(db, later), 30, "sent once the server accepts", w, b)

        smtp.stop()
        down = due(3)
        wait_until(
            lambda: all(r.attempts >= 2 for r in rows(db, down).values()),
            30,
            "each send tried twice while the server is down",
            w,
            b,
        )
        assert all("Connection" in r.last_error for r in rows(db, down).values())
        smtp.start()
        wait_until(lambda: all_sent(db, down), 30, "sent once the server is back", w, b)
        settle()
    assert_exactly_once(db, smtp, later + down)
    waits = retry_waits(w)
    assert waits and max(waits) <= LEASE / 2, waits  # backoff, capped below the lease


def test_a_refused_message_is_failed_not_retried_and_shown_to_admins(
    app, db, env, smtp, due, people, make_user, login, client, tmp_path
):
    _user, _firm = people
    refused_user = make_user(Role.STAFF, [], email="gone@example.test")
    smtp.answers["gone@example.test"] = "550 5.1.1 mailbox unavailable"
    w, b = worker(env), a_beat(env, tmp_path)
    with running(w, b):
        ok = due(2)
        (refused,) = due(1, to=refused_user)
        wait_until(
            lambda: (
                all_sent(db, ok) and rows(db, [refused])[refused].status == ReminderStatus.FAILED
            ),
            30,
            "two sent, one failed",
            w,
            b,
        )
        time.sleep(LEASE + 2 * SWEEP)  # a lapsed lease would show a retry now
    reminder = rows(db, [refused])[refused]
    assert (reminder.status, reminder.attempts) == (ReminderStatus.FAILED, 1)
    assert reminder.last_error == "550 5.1.1 mailbox unavailable"
    assert smtp.refused == 1  # asked once, never again
    assert_exactly_once(db, smtp, ok)

    admin = make_user(Role.ADMIN, [], locale="en")
    login(admin)
    page = client.get("/admin/mail/deliveries?status=failed").get_data(as_text=True)
    assert reminder.subject in page
    assert "550 5.1.1 mailbox unavailable" in page
    assert "gone@example.test" in page
    assert rows(db, ok)[ok[0]].subject not in page  # sent ones are not "failed"


# -- 3. a worker killed in the middle of a batch ----------------------------------------------
def test_a_worker_killed_mid_batch_loses_nothing(app, db, env, smtp, due, tmp_path):
    smtp.delay = 0.3  # each mail takes a while: the batch is in flight
    ids = due(20)
    first, b = worker(env), a_beat(env, tmp_path)
    second = worker(env)
    with running(b):
        with running(first):
            wait_until(lambda: smtp.count() >= 4 and smtp.flying(), 30, "mails in flight", first)
            flying = set(smtp.flying())
            first.kill()
        sent_before = smtp.count()
        assert sent_before < len(ids)  # the batch was cut short
        with running(second):
            wait_until(lambda: all_sent(db, ids), 45, "all sent after the restart", second, b)
            settle()
    found = rows(db, ids)
    expected = {r.message_id for r in found.values()}
    received = Counter(smtp.message_ids())
    assert set(received) == expected  # nothing lost, nothing foreign
    duplicates = {mid for mid, n in received.items() if n > 1}
    # The one mail the server had taken when the worker died (before the worker heard
    # "250" and committed) goes again, with the same Message-ID; nothing else twice.
    assert len(flying) == 1 and duplicates == flying, (duplicates, flying)
    assert max(received.values()) == 2


# -- 4. Redis restarted while reminders are due -----------------------------------------------
def test_a_redis_restart_loses_no_reminder(app, db, env, smtp, due, redis_server, tmp_path):
    smtp.delay = 0.2
    broker = {"CELERY_BROKER_URL": redis_server.url(0)}
    ids = due(20)
    w, b = worker(env, **broker), a_beat(env, tmp_path, **broker)
    with running(w, b):
        queue = redis_server.client(0)
        wait_until(lambda: smtp.count() >= 3, 30, "sending started", w, b)
        waiting = queue.llen("celery")
        assert waiting >= 5, waiting  # send messages sit in Redis …
        redis_server.restart(down_for=1.0)
        assert queue.dbsize() == 0  # … and are gone: no persistence
        wait_until(lambda: all_sent(db, ids), 45, "all sent after the restart", w, b)
        settle()
    assert_exactly_once(db, smtp, ids)


# -- 5. two beats and two workers at once -----------------------------------------------------
def test_two_beats_and_two_workers_send_nothing_twice(app, db, env, smtp, due, tmp_path):
    smtp.delay = 0.05
    # A lease shorter than the queue's wait: rows are claimed again while their first
    # send is still queued, so both workers race for the same row.
    # BEAT_LOCK=off: with Redis, beat's lock (redbeat) would leave the second beat waiting;
    # this test shows the rows alone keep two scheduling beats from sending twice.
    short = {"REMINDER_CLAIM_LEASE_SECONDS": "2", "BEAT_LOCK": "off"}
    ids = due(30)
    processes = (
        worker(env, **short),
        worker(env, **short),
        a_beat(env, tmp_path, "beat1", **short),
        a_beat(env, tmp_path, "beat2", **short),
    )
    with running(*processes):
        wait_until(lambda: all_sent(db, ids), 45, "all sent", *processes)
        settle()
    assert_exactly_once(db, smtp, ids)
    one, two, beat_one, beat_two = processes
    assert "tasks.reminders.send" in one.output() and "tasks.reminders.send" in two.output()
    assert "reminders-sweep" in beat_one.output() and "reminders-sweep" in beat_two.output()


# -- 6. no long ETA messages ------------------------------------------------------------------
def _broker_messages(client) -> list[dict]:
    """Every message in Redis: waiting in the queue, or taken by a worker and not yet acked."""
    raw = list(client.lrange("celery", 0, -1))
    raw += [json.dumps(json.loads(value)[0]) for value in client.hvals("unacked")]
    return [json.loads(item) for item in raw]


def test_no_reminder_waits_in_the_broker(app, db, env, smtp, due, people, make_user, redis_server):
    from tasks.reminders import retry_delay

    tmp = redis_server.folder.parent
    broker = {"CELERY_BROKER_URL": redis_server.url(0)}
    tomorrow = due(1, in_minutes=24 * 60)
    slow_user = make_user(Role.STAFF, [], email="busy@example.test")
    smtp.answers["busy@example.test"] = "452 4.2.2 mailbox full, try later"
    (retrying,) = due(1, to=slow_user)
    client = redis_server.client(0)
    seen: list[tuple[float, dict]] = []
    w, b = worker(env, **broker), a_beat(env, tmp, **broker)
    with running(w, b):
        deadline = time.monotonic() + 4 * SWEEP + 2
        while time.monotonic() < deadline:
            seen += [(time.time(), message) for message in _broker_messages(client)]
            time.sleep(0.05)
        wait_until(lambda: rows(db, [retrying])[retrying].attempts >= 2, 20, "a retry", w, b)
    sends = [(at, m) for at, m in seen if m["headers"]["task"] == "tasks.reminders.send"]
    published = {json.loads(base64.b64decode(m["body"]))[0][0] for _at, m in sends}
    assert published == {retrying}  # the reminder due tomorrow was never published
    # The retry waits in the worker (unacked, with an ETA) for at most half the lease.
    etas = [
        datetime.fromisoformat(m["headers"]["eta"]).timestamp() - at
        for at, m in sends
        if m["headers"].get("eta")
    ]
    assert etas and max(etas) <= LEASE / 2 + 0.5, etas
    # Beat's own messages (sweeps) carry no ETA either; a sweep may be taken by the
    # worker before a poll sees it, so there may be none to look at.
    others = [m for _at, m in seen if m["headers"]["task"] != "tasks.reminders.send"]
    assert not any(m["headers"].get("eta") for m in others)
    assert w.output().count("tasks.reminders.sweep") >= 3
    (pending,) = rows(db, tomorrow).values()
    assert (pending.status, pending.claimed_at) == (ReminderStatus.PENDING, None)
    # And the rule itself, for the production lease and for short ones.
    for lease in (600, 60, 6, 1):
        assert max(retry_delay(n, lease) for n in range(40)) <= max(1, lease / 2)
    assert retry_delay(0, 600) == 15 and retry_delay(10, 600) == 300


# -- 7. the embedded default: no Redis --------------------------------------------------------
def test_without_redis_the_same_path_runs_on_the_filesystem_broker(
    app, db, env, smtp, due, tmp_path
):
    no_redis = {"CELERY_BROKER_URL": None, "REDIS_URL": None}
    ids = due(10)
    w, b = worker(env, **no_redis), a_beat(env, tmp_path, **no_redis)
    with running(w, b):
        wait_until(lambda: all_sent(db, ids), 30, "all sent", w, b)
        settle()
    assert "filesystem://" in w.output()
    assert_exactly_once(db, smtp, ids)
