"""The daily digest: held reminders go out in one mail a day, through a real SMTP server."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.clock import local_today
from crm.models import (
    Escalation,
    Reminder,
    ReminderStatus,
    Role,
    TimelineEvent,
    UnitKind,
)
from crm.reminders import delivery, digest
from crm.visits import services as visit_services


@pytest.fixture
def org(db, make_unit, make_user, make_enterprise):
    bureau = make_unit("市投促局", UnitKind.BUREAU)
    county = make_unit("翠屏区", UnitKind.COUNTY, parent=bureau)
    staff = make_user(
        Role.STAFF,
        [county],
        name="李专员",
        email="li@example.test",
        locale="en",
        reminder_digest=True,
        digest_hour=8,
    )
    manager = make_user(Role.MANAGER, [county], name="王科长", email="wang@example.test")
    firm = make_enterprise("宜宾长盈精密技术有限公司", units=[county])

    class Org:
        pass

    org = Org()
    org.__dict__.update(bureau=bureau, county=county, staff=staff, manager=manager, firm=firm)
    return org


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """``hour``:``minute`` in Asia/Shanghai (UTC+8), as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def follow_up(db, org, due_date, title="回访用地问题", owner=None):
    item = visit_services.create_follow_up(
        org.firm, actor=org.staff, title=title, due_date=due_date, owner=owner or org.staff
    )
    db.session.commit()
    return item


def sweep(db, now) -> dict[int, str]:
    """What the beat's sweep and the send tasks do, at ``now``."""
    ids = delivery.claim_due(now=now)
    db.session.commit()
    outcomes = {}
    for reminder_id in ids:
        outcomes[reminder_id] = delivery.send(reminder_id, now=now).status
        db.session.commit()
    return outcomes


def digests(db, user):
    db.session.expire_all()
    return list(
        db.session.execute(
            select(Reminder)
            .where(Reminder.kind == "digest", Reminder.recipient_id == user.id)
            .order_by(Reminder.due_at)
        ).scalars()
    )


def test_held_reminders_go_out_in_one_digest_a_day(db, org, smtp):
    due_day = local_today() + timedelta(days=3)
    first = follow_up(db, org, due_day)
    # On the due day at 09:01: "before" (the day before) and "due" are held, not mailed.
    outcomes = sweep(db, local(due_day, 9, 1))
    assert sorted(outcomes.values()) == ["held", "held"]
    assert smtp.received == []

    assert digest.plan_digests(local(due_day, 9, 1)) == 1
    assert digest.plan_digests(local(due_day, 9, 5)) == 0  # once a day
    db.session.commit()
    (planned,) = digests(db, org.staff)
    # 08:00 has passed on the due day: the next digest is the following morning.
    next_day = due_day + timedelta(days=1)
    assert planned.dedupe_key == f"digest:u{org.staff.id}:{next_day.isoformat()}"
    assert planned.due_at == local(next_day, 8)
    assert planned.subject_type == "digest" and planned.status == ReminderStatus.PENDING

    outcomes = sweep(db, local(next_day, 8, 1))
    assert outcomes == {planned.id: "sent"}
    assert len(smtp.received) == 1
    mail = smtp.messages()[0]
    assert mail["To"] == "li@example.test"
    assert "2 reminders" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    file_url = f"https://crm.test/enterprises/{org.firm.id}#follow-ups"
    assert text.count("回访用地问题") == 2 and file_url in text
    assert f'href="{file_url}"' in html
    # Grouped: what is due, then what is coming up; no escalation here.
    assert html.index('data-section="due"') < html.index('data-section="coming"')
    assert 'data-section="escalations"' not in html
    assert html.index("Due now: 回访用地问题") < html.index('data-section="coming"')

    held = [r for r in db.session.execute(select(Reminder)).scalars() if r.kind != "digest"]
    carried = [r for r in held if r.recipient_id == org.staff.id]
    assert {(r.status, r.digest_id) for r in carried} == {(ReminderStatus.SENT, planned.id)}
    assert all(r.sent_at == local(next_day, 8, 1) for r in carried)
    events = db.session.execute(
        select(TimelineEvent).where(TimelineEvent.kind == "reminder.sent")
    ).scalars()
    assert sorted(e.data["kind"] for e in events) == ["follow_up.before", "follow_up.due"]

    # Held after that day's digest went out: it waits for the next day's.
    second = follow_up(db, org, next_day, title="签约准备")
    outcomes = sweep(db, local(next_day, 9, 1))
    second_rows = {
        r.id
        for r in db.session.execute(
            select(Reminder).where(Reminder.subject_id == second.id)
        ).scalars()
        if r.recipient_id == org.staff.id
    }
    assert {outcomes[i] for i in second_rows} == {"held"}
    digest.plan_digests(local(next_day, 9, 2))
    db.session.commit()
    later = digests(db, org.staff)[-1]
    assert later.due_at == local(next_day + timedelta(days=1), 8)
    sent_before = len(smtp.received)
    outcomes = sweep(db, local(next_day + timedelta(days=1), 8, 1))
    assert outcomes[later.id] == "sent"
    mails = smtp.messages()[sent_before:]
    assert [m["To"] for m in mails].count("li@example.test") == 1
    body = next(m for m in mails if m["To"] == "li@example.test").get_body(("plain",))
    assert "签约准备" in body.get_content() and "回访用地问题" not in body.get_content()
    assert first.id != second.id


def test_a_digest_with_nothing_held_is_cancelled(db, org, smtp):
    now = local(local_today(), 6)
    digest.plan_digests(now)
    db.session.commit()
    (planned,) = digests(db, org.staff)
    assert sweep(db, planned.due_at + timedelta(minutes=1)) == {planned.id: "cancelled"}
    assert smtp.received == []
    assert digests(db, org.staff)[0].status == ReminderStatus.CANCELLED


def test_a_held_reminder_whose_item_is_done_is_cancelled_not_digested(db, org, smtp):
    due_day = local_today() + timedelta(days=2)
    item = follow_up(db, org, due_day)
    sweep(db, local(due_day, 9, 1))
    visit_services.complete_follow_up(item, actor=org.staff)
    # The held rows are still "held" (a replan leaves them to the digest's check) or
    # cancelled; either way the digest must not carry them.
    db.session.commit()
    digest.plan_digests(local(due_day, 9, 1))
    db.session.commit()
    (planned,) = digests(db, org.staff)
    assert sweep(db, planned.due_at) == {planned.id: "cancelled"}
    assert smtp.received == []
    statuses = {
        r.status
        for r in db.session.execute(select(Reminder).where(Reminder.kind != "digest")).scalars()
        if r.recipient_id == org.staff.id
    }
    assert statuses == {ReminderStatus.CANCELLED}


def test_a_held_escalation_is_recorded_and_listed_first(db, org, smtp):
    org.manager.reminder_digest = True
    org.manager.digest_hour = 7
    db.session.commit()
    due_day = local_today() + timedelta(days=1)
    follow_up(db, org, due_day)
    # The day after the due day, 09:01: the escalation to the county manager is held.
    escalation_day = due_day + timedelta(days=1)
    outcomes = sweep(db, local(escalation_day, 9, 1))
    assert "held" in outcomes.values()
    assert db.session.execute(select(Escalation)).first() is None  # not told yet
    digest.plan_digests(local(escalation_day, 9, 1))
    db.session.commit()
    (planned,) = digests(db, org.manager)
    assert sweep(db, local(escalation_day + timedelta(days=1), 7, 1))[planned.id] == "sent"
    escalation = db.session.execute(select(Escalation)).scalar_one()
    assert (escalation.level, escalation.unit_id) == (1, org.county.id)
    mail = next(m for m in smtp.messages() if m["To"] == "wang@example.test")
    html = mail.get_body(("html",)).get_content()
    assert 'data-section="escalations"' in html
    # Chinese reader: the date in the subject is written the Chinese way.
    day = escalation_day + timedelta(days=1)
    assert f"{day.year}年{day.month}月{day.day}日" in mail["Subject"]


def test_hour_changes_and_former_readers(db, org):
    today = local_today()
    digest.plan_digests(local(today, 6))
    db.session.commit()
    (planned,) = digests(db, org.staff)
    assert planned.due_at == local(today, 8)
    org.staff.digest_hour = 7
    db.session.commit()
    digest.plan_digests(local(today, 6, 10))
    db.session.commit()
    assert [r.due_at for r in digests(db, org.staff)] == [local(today, 7)]

    # Someone who stopped reading digests with reminders still held gets one more.
    delivery.schedule(
        kind="follow_up.due",
        recipient=org.manager,
        subject_type="note",
        subject_id=1,
        due_at=local(today, 5),
        dedupe_key="held-one",
        subject="x",
        body="x",
    )
    db.session.execute(
        Reminder.__table__.update()
        .where(Reminder.dedupe_key == "held-one")
        .values(status=ReminderStatus.HELD)
    )
    db.session.commit()
    assert org.manager.reminder_digest is False
    digest.plan_digests(local(today, 6, 20))
    db.session.commit()
    assert len(digests(db, org.manager)) == 1
    # An inactive reader gets none.
    org.staff.active = False
    db.session.commit()
    assert digest.plan_digests(local(today + timedelta(days=3), 6)) == 1  # the manager only


def test_the_beat_task_plans_digests_and_is_scheduled(app, db, org):
    from tasks.reminders import plan_periodic

    result = plan_periodic.run()
    assert result["digests"] == 1 and len(digests(db, org.staff)) == 1
    assert plan_periodic.run()["digests"] == 0
    entry = app.config["CELERY"]["beat_schedule"]["reminders-plan"]
    assert entry == {"task": "tasks.reminders.plan_periodic", "schedule": 600.0}
