"""Reminder delivery at scale: one sweep over a million open follow-ups, and the sending rate.

a) 1,000,000 open follow-ups (a few enterprises and owners), each with its pending
   "follow_up.due" reminder keyed as crm.reminders.planner.key makes it; 10,000 of
   them are due now. One sweep (the body of tasks.reminders.sweep: claim batch
   after batch, commit, enqueue one send per row to a real Redis, db 13) must
   claim and enqueue all 10,000 in under 2 s.
       BENCH reminder_sweep_10k_due_of_1m_<postgres|sqlite> <s> s
b) A real worker process (solo pool, started from wsgi.py) sends 2,000 due
   reminders of real follow-ups (planned by crm.reminders.planner.replan, then
   moved into the past) to a local SMTP server (aiosmtpd): messages per second
   from the first receipt to the last; target 50 per worker.
       BENCH reminder_send_rate_per_worker_<postgres|sqlite> <n> msg/s

    .venv/bin/python bench/bench_reminders.py [--only sqlite|postgresql] [--skip-send]

The million-row databases (bench/out/bench_reminders.sqlite, PostgreSQL database
crm_bench_reminders) are seeded once and reused; delete them to re-seed. The
sending databases (…_send) are made afresh each run. The Redis database 13 is
emptied after use.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import pg_database  # noqa: E402  (bench/ is on the path)

PG_DATABASE = "crm_bench_reminders"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
OUT = ROOT / "bench" / "out"

FOLLOW_UPS = 1_000_000
DUE_NOW = 10_000
OWNERS = 5
ENTERPRISES = 5
SEND_COUNT = 2_000
SWEEP_TARGET_S = 2.0
SEND_TARGET = 50.0
MARK = "bench-rem"

MISSES: list[str] = []


def log(backend: str, message: str) -> None:
    print(f"# {backend}: {message}", flush=True)


def database_urls(only: str | None) -> dict[str, tuple[str, str]]:
    """backend → (the million-row database, a fresh one for sending)."""
    OUT.mkdir(parents=True, exist_ok=True)
    urls = {}
    if only in (None, "sqlite"):
        send = OUT / "bench_reminders_send.sqlite"
        for path in (send, Path(f"{send}-wal"), Path(f"{send}-shm")):
            path.unlink(missing_ok=True)
        urls["sqlite"] = (f"sqlite:///{OUT / 'bench_reminders.sqlite'}", f"sqlite:///{send}")
    if only in (None, "postgresql"):
        urls["postgres"] = (
            pg_database(PG_DATABASE),
            pg_database(f"{PG_DATABASE}_send", fresh=True),
        )
    return urls


def make_app(url: str):
    os.environ["DATABASE_URL"] = url
    os.environ["CRM_INSTANCE_PATH"] = str(OUT / "instance")
    os.environ["CELERY_BROKER_URL"] = REDIS_URL
    from crm import create_app

    # The newest app is Celery's default: the shared tasks below run in this one.
    return create_app("default", {"SQLALCHEMY_DATABASE_URI": url})


def redis_queue():
    import redis

    return redis.Redis.from_url(REDIS_URL)


# -- people and enterprises ----------------------------------------------------------------
def base_rows(owners: int, enterprises: int, *, remind_before: int = 1440):
    """A county, its staff (the owners) and its enterprises; (owner ids, enterprise ids)."""
    from crm.admin.units import create_unit
    from crm.auth.services import hash_password
    from crm.enterprises.credit_code import complete
    from crm.enterprises.services import create_enterprise
    from crm.extensions import db
    from crm.models import Role, UnitKind, User

    county = create_unit(name="翠屏区", kind=UnitKind.COUNTY, parent=None)
    password = hash_password("bench password")
    users = []
    for n in range(owners):
        user = User(
            email=f"{MARK}-owner-{n}@bench.local",
            name=f"跟进人{n}",
            password_hash=password,
            role=Role.STAFF,
            locale="zh_CN",
            remind_before_minutes=remind_before,
        )
        user.units = [county]
        db.session.add(user)
        users.append(user)
    db.session.flush()
    firms = [
        create_enterprise(
            actor=None,
            name=f"提醒测试企业{n}有限公司",
            credit_code=complete(f"91511599{n:09d}"),
            units=[county],
        )
        for n in range(enterprises)
    ]
    db.session.commit()
    return [u.id for u in users], [f.id for f in firms]


# -- a) one sweep over a million -----------------------------------------------------------
def seeded() -> bool:
    from crm.extensions import db

    return (
        db.session.execute(
            text("SELECT count(*) FROM reminder WHERE kind = 'follow_up.due'")
        ).scalar()
        >= FOLLOW_UPS
    )


def due_date_of(n: int, today):
    """Follow-up n (1-based): the first DUE_NOW were due in the last weeks, the rest months ahead."""
    if n <= DUE_NOW:
        return today - timedelta(days=1 + n % 28)
    return today + timedelta(days=90 + n % 365)


def seed_million(backend: str) -> None:
    from crm.clock import local_today
    from crm.extensions import db
    from crm.reminders import planner

    started = time.perf_counter()
    owners, firms = base_rows(OWNERS, ENTERPRISES)
    today = local_today()
    # The due moment of a dated item is a fixed local hour: its UTC time of day.
    morning = planner.morning_of(today)
    offset = morning - datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    stamp = morning.strftime("T%H%MZ")
    if db.engine.dialect.name == "postgresql":
        seed_postgres(owners, firms, today, offset, stamp)
    else:
        seed_sqlite(owners, firms, today, offset, stamp)
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    print(f"BENCH seed_reminders_1m_{backend} {time.perf_counter() - started:.0f} s", flush=True)


def seed_postgres(owners, firms, today, offset, stamp) -> None:
    from crm.extensions import db

    params = {
        "owners": owners,
        "firms": firms,
        "today": today,
        "due": DUE_NOW,
        "n": FOLLOW_UPS,
        "offset": offset,
        "stamp": stamp,
        "user_prefix": ":u",
    }
    db.session.execute(
        text(
            """
            INSERT INTO follow_up (enterprise_id, title, due_date, owner_id, status,
                                   created_by_id, created_at, updated_at, version)
            SELECT (:firms)[1 + g % cardinality(:firms)],
                   'bench-rem 跟进 ' || g,
                   CASE WHEN g <= :due THEN :today - (1 + g % 28)::int
                        ELSE :today + (90 + g % 365)::int END,
                   (:owners)[1 + g % cardinality(:owners)],
                   'open',
                   (:owners)[1 + g % cardinality(:owners)],
                   now(), now(), 1
            FROM generate_series(1, :n) AS g
            """
        ),
        params,
    )
    db.session.execute(
        text(
            """
            INSERT INTO reminder (kind, recipient_id, subject_type, subject_id, enterprise_id,
                                  subject, body, occasion_at, due_at, dedupe_key, status,
                                  attempts, created_at)
            SELECT 'follow_up.due', f.owner_id, 'follow_up', f.id, f.enterprise_id,
                   '跟进提醒：' || f.title, '今天到期：' || f.title,
                   f.due_date::timestamp AT TIME ZONE 'UTC' + :offset,
                   f.due_date::timestamp AT TIME ZONE 'UTC' + :offset,
                   'follow_up:' || f.id || ':due:' || to_char(f.due_date, 'YYYYMMDD')
                       || :stamp || :user_prefix || f.owner_id,
                   'pending', 0, now()
            FROM follow_up AS f
            ORDER BY f.id
            """
        ),
        params,
    )
    db.session.commit()


def _sqlite_time(value: datetime) -> str:
    """As SQLAlchemy stores a UTC datetime in SQLite."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def seed_sqlite(owners, firms, today, offset, stamp) -> None:
    from crm.extensions import db

    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        now = _sqlite_time(datetime.now(UTC))
        start = cursor.execute("SELECT coalesce(max(id), 0) FROM follow_up").fetchone()[0]
        chunk = 100_000
        for first in range(1, FOLLOW_UPS + 1, chunk):
            follow_ups, reminders = [], []
            for n in range(first, min(first + chunk, FOLLOW_UPS + 1)):
                fid = start + n
                owner = owners[n % len(owners)]
                day = due_date_of(n, today)
                due = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + offset
                title = f"bench-rem 跟进 {n}"
                follow_ups.append(
                    (fid, firms[n % len(firms)], title, day.isoformat(), owner, owner, now, now)
                )
                reminders.append(
                    (
                        owner,
                        fid,
                        firms[n % len(firms)],
                        f"跟进提醒：{title}",
                        f"今天到期：{title}",
                        _sqlite_time(due),
                        _sqlite_time(due),
                        f"follow_up:{fid}:due:{day.strftime('%Y%m%d')}{stamp}:u{owner}",
                        now,
                    )
                )
            cursor.executemany(
                "INSERT INTO follow_up (id, enterprise_id, title, due_date, owner_id, status,"
                " created_by_id, created_at, updated_at, version)"
                " VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, 1)",
                follow_ups,
            )
            cursor.executemany(
                "INSERT INTO reminder (kind, recipient_id, subject_type, subject_id,"
                " enterprise_id, subject, body, occasion_at, due_at, dedupe_key, status,"
                " attempts, created_at)"
                " VALUES ('follow_up.due', ?, 'follow_up', ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)",
                reminders,
            )
            raw.commit()
        cursor.close()
    finally:
        raw.close()


def set_due_rows(status: str) -> int:
    """Put the reminders of the follow-ups due in the past back to ``status``."""
    from crm.extensions import db
    from crm.models.base import utcnow

    changed = db.session.execute(
        text(
            "UPDATE reminder SET status = :status, claimed_at = NULL, attempts = 0"
            " WHERE kind = 'follow_up.due' AND due_at <= :now AND status <> :status"
        ),
        {"status": status, "now": utcnow()},
    ).rowcount
    db.session.commit()
    return changed


def measure_sweep(backend: str, url: str) -> None:
    from crm.extensions import db
    from crm.i18n import compile_catalogs
    from crm.models import ReminderStatus
    from crm.models.base import utcnow
    from tasks.reminders import sweep

    compile_catalogs()
    app = make_app(url)
    queue = redis_queue()
    with app.app_context():
        db.create_all()
        if not seeded():
            log(backend, f"seeding {FOLLOW_UPS:,} follow-ups with their reminders")
            db.session.remove()  # its read would block the DROP below
            db.drop_all()  # whatever an interrupted seeding left
            db.create_all()
            seed_million(backend)
        # A warm-up sweep with nothing due: connections made, caches warm, as in a
        # worker that has been sweeping every minute.
        set_due_rows("sent")
        assert sweep() == 0
        set_due_rows("pending")
        due = db.session.execute(
            text("SELECT count(*) FROM reminder WHERE status = 'pending' AND due_at <= :now"),
            {"now": utcnow()},
        ).scalar()
        total = db.session.execute(text("SELECT count(*) FROM reminder")).scalar()
        log(backend, f"{due:,} due of {total:,} reminders")
        db.session.remove()
        queue.delete("celery")

        started = time.perf_counter()
        claimed = sweep()
        elapsed = time.perf_counter() - started

        queued = db.session.execute(
            text("SELECT count(*) FROM reminder WHERE status = :s"),
            {"s": ReminderStatus.QUEUED.value},
        ).scalar()
        published = queue.llen("celery")
        queue.delete("celery")
        db.session.remove()
        assert claimed == due == queued == published, (claimed, due, queued, published)
        db.engine.dispose()
    print(f"BENCH reminder_sweep_10k_due_of_1m_{backend} {elapsed:.3f} s", flush=True)
    if elapsed > SWEEP_TARGET_S:
        MISSES.append(f"reminder_sweep_10k_due_of_1m_{backend} {elapsed:.3f} s > {SWEEP_TARGET_S}")


# -- b) the sending rate of one worker -----------------------------------------------------
def seed_send(count: int) -> int:
    """``count`` real follow-ups due tomorrow, planned by the planner, then made due now."""
    from crm.clock import local_today
    from crm.extensions import db
    from crm.models import FollowUp, FollowUpStatus, Reminder
    from crm.models.base import utcnow
    from crm.reminders import planner

    # Owners without the "before due" reminder: one reminder per follow-up.
    owners, firms = base_rows(4, 4, remind_before=0)
    tomorrow = local_today() + timedelta(days=1)
    for n in range(count):
        follow_up = FollowUp(
            enterprise_id=firms[n % len(firms)],
            title=f"回访企业用地问题 {n}",
            due_date=tomorrow,
            owner_id=owners[n % len(owners)],
            status=FollowUpStatus.OPEN,
            created_by_id=owners[n % len(owners)],
        )
        db.session.add(follow_up)
        db.session.flush()
        planner.replan("follow_up", follow_up)
    db.session.execute(Reminder.__table__.update().values(due_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    return db.session.execute(text("SELECT count(*) FROM reminder")).scalar()


def measure_send(backend: str, url: str) -> None:
    from crm.extensions import db
    from crm.models import ReminderStatus
    from tasks.reminders import sweep
    from tests.smtp_sink import Server
    from tests.worker import CeleryProcess, running

    app = make_app(url)
    queue = redis_queue()
    with app.app_context():
        db.create_all()
        rows = seed_send(SEND_COUNT)
        assert rows == SEND_COUNT, rows
        db.session.remove()
    sink = Server()
    sink.start()
    queue.delete("celery")
    worker = CeleryProcess(
        "worker",
        {
            "DATABASE_URL": url,
            "CRM_INSTANCE_PATH": str(OUT / "instance"),
            "CELERY_BROKER_URL": REDIS_URL,
            "REDIS_URL": None,
            **sink.env(),
        },
    )
    try:
        with running(worker), app.app_context():
            assert sweep() == SEND_COUNT
            db.session.remove()
            if not sink.wait_for(SEND_COUNT, 300):
                raise AssertionError(
                    f"{sink.count()} of {SEND_COUNT} received\n{worker.output()[-3000:]}"
                )
            times = list(sink.accepted_at)
        with app.app_context():
            sent = db.session.execute(
                text("SELECT count(*) FROM reminder WHERE status = :s"),
                {"s": ReminderStatus.SENT.value},
            ).scalar()
            db.engine.dispose()
    finally:
        sink.stop()
        queue.delete("celery")
    assert len(set(sink.message_ids())) == SEND_COUNT
    rate = (len(times) - 1) / (times[-1] - times[0])
    log(backend, f"{sent:,} marked sent; {len(times):,} received in {times[-1] - times[0]:.1f} s")
    print(f"BENCH reminder_send_rate_per_worker_{backend} {rate:.1f} msg/s", flush=True)
    if rate < SEND_TARGET:
        MISSES.append(f"reminder_send_rate_per_worker_{backend} {rate:.1f} < {SEND_TARGET}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--skip-send", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    args = parser.parse_args()
    for backend, (million, send) in database_urls(args.only).items():
        if not args.skip_sweep:
            measure_sweep(backend, million)
        if not args.skip_send:
            measure_send(backend, send)
    if MISSES:
        print("# over target: " + "; ".join(MISSES))


if __name__ == "__main__":
    main()
