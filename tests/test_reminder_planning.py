"""Which reminders items get, and how they follow the item: crm.reminders.planner and plans.

Mail goes to the outbox folder here (the embedded default); what the SMTP path
adds is shown in test_reminder_delivery and test_reminder_guarantees.
"""

from __future__ import annotations

import email
from datetime import UTC, date, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.clock import local_today
from crm.issues import services as issue_services
from crm.issues import workflow
from crm.models import (
    Escalation,
    IssueCategory,
    IssueStatus,
    Reminder,
    ReminderStatus,
    Role,
    TimelineEvent,
    UnitKind,
)
from crm.models.base import utcnow
from crm.reminders import delivery, planner
from crm.visits import services as visit_services


@pytest.fixture
def outbox(app, tmp_path):
    saved = {k: app.config[k] for k in ("MAIL_SERVER", "MAIL_OUTBOX")}
    app.config.update(MAIL_SERVER="", MAIL_OUTBOX=str(tmp_path / "outbox"))
    yield Path(tmp_path / "outbox")
    app.config.update(saved)


def _mails(folder: Path):
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


@pytest.fixture
def org(db, make_unit, make_user, make_enterprise):
    """Bureau → county; a staff member of the county, its manager, the bureau's manager."""
    bureau = make_unit("市投促局", UnitKind.BUREAU)
    county = make_unit("翠屏区", UnitKind.COUNTY, parent=bureau)
    staff = make_user(Role.STAFF, [county], name="李专员", email="li@example.test")
    manager = make_user(Role.MANAGER, [county], name="王科长", email="wang@example.test")
    chief = make_user(Role.MANAGER, [bureau], name="张局长", email="zhang@example.test")
    firm = make_enterprise("宜宾长盈精密技术有限公司", units=[county])

    class Org:
        pass

    org = Org()
    org.__dict__.update(
        bureau=bureau, county=county, staff=staff, manager=manager, chief=chief, firm=firm
    )
    return org


def _rows(db, subject_type=None, subject_id=None):
    db.session.expire_all()
    stmt = select(Reminder).order_by(Reminder.due_at, Reminder.recipient_id)
    if subject_type:
        stmt = stmt.where(Reminder.subject_type == subject_type)
    if subject_id:
        stmt = stmt.where(Reminder.subject_id == subject_id)
    return list(db.session.execute(stmt).scalars())


def _nine_am(day: date) -> datetime:
    # 09:00 in Asia/Shanghai is 01:00 UTC.
    return datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)


def _follow_up(db, org, due_date, owner=None):
    follow_up = visit_services.create_follow_up(
        org.firm, actor=org.staff, title="回访用地问题", due_date=due_date, owner=owner or org.staff
    )
    db.session.commit()
    return follow_up


def test_a_follow_up_gets_before_due_and_one_escalation_per_level(db, org):
    due_date = date.today() + timedelta(days=5)
    follow_up = _follow_up(db, org, due_date)
    rows = _rows(db, "follow_up", follow_up.id)
    due = _nine_am(due_date)
    assert [(r.kind, r.recipient_id, r.due_at, r.level) for r in rows] == [
        ("follow_up.before", org.staff.id, due - timedelta(days=1), None),
        ("follow_up.due", org.staff.id, due, None),
        ("follow_up.escalation", org.manager.id, due + timedelta(days=1), 1),
        ("follow_up.escalation", org.chief.id, due + timedelta(days=2), 2),
    ]
    assert all(r.status == ReminderStatus.PENDING and r.occasion_at == due for r in rows)
    assert all(r.enterprise_id == org.firm.id for r in rows)

    # Planning again adds nothing.
    planner.replan("follow_up", follow_up)
    db.session.commit()
    assert len(_rows(db, "follow_up", follow_up.id)) == 4


def test_done_cancels_what_is_waiting(db, org):
    follow_up = _follow_up(db, org, date.today() + timedelta(days=2))
    visit_services.complete_follow_up(follow_up, actor=org.staff)
    db.session.commit()
    assert {r.status for r in _rows(db, "follow_up", follow_up.id)} == {ReminderStatus.CANCELLED}


def test_a_claimed_reminder_whose_item_is_done_since_is_not_sent(db, org, outbox):
    follow_up = _follow_up(db, org, date.today() + timedelta(days=2))
    row = _rows(db, "follow_up", follow_up.id)[1]  # on due
    claimed = delivery.claim_due(now=row.due_at + timedelta(seconds=1))
    db.session.commit()
    assert row.id in claimed
    visit_services.complete_follow_up(follow_up, actor=org.staff)  # after the sweep's claim
    db.session.commit()
    assert delivery.send(row.id).status == "cancelled"
    db.session.commit()
    assert db.session.get(Reminder, row.id).status == ReminderStatus.CANCELLED
    assert _mails(outbox) == []


def test_mail_is_in_the_recipients_language_with_html_and_a_link(db, org, outbox):
    org.staff.locale = "en"
    db.session.commit()
    due = local_today() + timedelta(days=30)
    follow_up = _follow_up(db, org, due)
    rows = _rows(db, "follow_up", follow_up.id)
    before, esc = rows[0], rows[2]
    due_text = f"{due.day} {due.strftime('%b')} {due.year}"  # as Babel writes "d MMM y"
    assert before.subject == f"Due {due_text}: 回访用地问题"
    assert esc.subject.startswith("逾期")  # the county manager reads Chinese
    assert "企业：宜宾长盈精密技术有限公司" in esc.body  # and a Chinese colon

    assert delivery.send(before.id).status == "sent"
    db.session.commit()
    [mail] = _mails(outbox)
    assert mail["To"] == "li@example.test"
    assert mail["Subject"] == f"Due {due_text}: 回访用地问题"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    link = f"https://crm.test/enterprises/{org.firm.id}#follow-ups"
    assert "Hello 李专员," in text and link in text and "宜宾长盈精密技术有限公司" in text
    assert f'href="{link}"' in html and "https://crm.test/account/reminders" in html
    assert mail["Message-ID"] == before.message_id


def test_an_escalation_is_recorded_once_per_level_and_lands_in_the_file(db, org, make_user, outbox):
    second = make_user(Role.MANAGER, [org.county], name="赵副科长")
    follow_up = _follow_up(db, org, date.today() + timedelta(days=1))
    level_one = [r for r in _rows(db, "follow_up", follow_up.id) if r.level == 1]
    assert {r.recipient_id for r in level_one} == {org.manager.id, second.id}
    for row in level_one:
        assert delivery.send(row.id).status == "sent"
        db.session.commit()
    [escalation] = db.session.execute(select(Escalation)).scalars()
    assert (escalation.level, escalation.unit_id, escalation.reason) == (
        1,
        org.county.id,
        "overdue",
    )
    events = db.session.execute(
        select(TimelineEvent).where(TimelineEvent.kind == "follow_up.escalated")
    ).scalars()
    assert [e.data["level"] for e in events] == [1]


def test_preferences_move_the_waiting_reminders(db, org):
    follow_up = _follow_up(db, org, date.today() + timedelta(days=5))
    due = _nine_am(follow_up.due_date)
    from crm.account.services import save_reminder_preferences

    save_reminder_preferences(
        org.staff,
        version=org.staff.version,
        remind_before_minutes=3 * 24 * 60,
        reminder_digest=False,
        digest_hour=8,
    )
    db.session.commit()
    before = _rows(db, "follow_up", follow_up.id)[0]
    assert (before.kind, before.due_at, before.status) == (
        "follow_up.before",
        due - timedelta(days=3),
        ReminderStatus.PENDING,
    )
    save_reminder_preferences(
        org.staff,
        version=org.staff.version,
        remind_before_minutes=0,
        reminder_digest=False,
        digest_hour=8,
    )
    db.session.commit()
    assert _rows(db, "follow_up", follow_up.id)[0].status == ReminderStatus.CANCELLED


def test_a_digest_reader_has_single_reminders_held(db, org, outbox):
    org.staff.reminder_digest = True
    db.session.commit()
    follow_up = _follow_up(db, org, date.today() + timedelta(days=1))
    row = _rows(db, "follow_up", follow_up.id)[0]
    assert delivery.send(row.id).status == "held"
    db.session.commit()
    assert db.session.get(Reminder, row.id).status == ReminderStatus.HELD
    assert _mails(outbox) == []


def _issue(db, org, **fields):
    issue = issue_services.create_issue(
        org.firm,
        actor=org.staff,
        category=IssueCategory.LAND,
        title="用地指标未落实",
        unit=org.county,
        **fields,
    )
    db.session.commit()
    return issue


def test_an_issue_step_is_reminded_and_escalated_hour_by_hour(db, org):
    issue = _issue(db, org, assignee=org.staff)
    due = issue.step_due_at
    rows = _rows(db, "issue", issue.id)
    # 60 minutes to respond: the first mail comes when it is logged, the escalations an
    # hour apart (a one-hour step is not escalated a day late).
    assert [(r.kind, r.recipient_id, r.due_at) for r in rows] == [
        ("issue.before", org.staff.id, issue.created_at),
        ("issue.due", org.staff.id, due),
        ("issue.escalation", org.manager.id, due + timedelta(hours=1)),
        ("issue.escalation", org.chief.id, due + timedelta(hours=2)),
    ]
    assert "https://crm.test/issues/" in rows[1].body


def test_a_step_taken_replaces_the_reminders_of_the_last_one(db, org):
    issue = _issue(db, org, assignee=org.staff)
    first = {r.id for r in _rows(db, "issue", issue.id)}
    workflow.accept(issue, actor=org.staff, expected_version=issue.version)
    db.session.commit()
    rows = _rows(db, "issue", issue.id)
    assert {r.status for r in rows if r.id in first} == {ReminderStatus.CANCELLED}
    fresh = [r for r in rows if r.id not in first]
    assert {r.occasion_at for r in fresh} == {issue.step_due_at}
    assert issue.step_due_at - issue.accepted_at == timedelta(hours=24)


def test_reassigning_moves_the_reminders_to_the_new_person(db, org, make_user):
    colleague = make_user(Role.STAFF, [org.county], name="陈专员")
    issue = _issue(db, org, assignee=org.staff)
    workflow.reassign(
        issue,
        actor=org.manager,
        expected_version=issue.version,
        assignee=colleague,
        unit=org.county,
        reason="熟悉用地政策",
    )
    db.session.commit()
    waiting = [r for r in _rows(db, "issue", issue.id) if r.status == ReminderStatus.PENDING]
    assert {r.recipient_id for r in waiting if r.level is None} == {colleague.id}
    assert org.staff.id not in {r.recipient_id for r in waiting}


def test_an_unassigned_issue_reminds_the_units_managers(db, org):
    issue = _issue(db, org)
    rows = _rows(db, "issue", issue.id)
    assert {r.recipient_id for r in rows if r.kind == "issue.due"} == {org.manager.id}
    # Level 1 is the county's managers, already told as owners: escalation starts above.
    assert {r.recipient_id for r in rows if r.level} == {org.chief.id}


def _resolve(db, issue, actor):
    """Resolve it from wherever it is (a reopened issue is back in progress)."""
    verbs = {
        IssueStatus.NEW: (workflow.accept, workflow.start, workflow.resolve),
        IssueStatus.IN_PROGRESS: (workflow.resolve,),
    }[issue.status]
    for verb in verbs:
        verb(issue, actor=actor, expected_version=issue.version, note="协调自然资源局")
        db.session.commit()


def test_an_unsatisfied_callback_escalates_one_level_higher_each_time(db, org):
    issue = _issue(db, org, assignee=org.staff)
    for expected_level, recipient in ((1, org.manager), (2, org.chief)):
        _resolve(db, issue, org.staff)
        workflow.callback(
            issue, actor=org.staff, expected_version=issue.version, satisfaction=1, comment="没解决"
        )
        db.session.commit()
        spent = db.session.execute(
            select(Escalation).where(Escalation.level == expected_level)
        ).scalar_one()
        assert spent.reason == "reopened"
        mail = [r for r in _rows(db, "issue", issue.id) if r.kind == "issue.reopened"][-1]
        assert (mail.recipient_id, mail.level, mail.status) == (
            recipient.id,
            expected_level,
            ReminderStatus.PENDING,
        )
        assert mail.due_at <= utcnow()
    # Every level is spent: a third reopening escalates no further, and the overdue
    # escalations of the new step have no level left either.
    _resolve(db, issue, org.staff)
    workflow.callback(
        issue, actor=org.staff, expected_version=issue.version, satisfaction=2, comment="仍未解决"
    )
    db.session.commit()
    assert db.session.query(Escalation).count() == 2
    waiting = [r for r in _rows(db, "issue", issue.id) if r.status == ReminderStatus.PENDING]
    assert not [r for r in waiting if r.kind == "issue.escalation"]


def test_a_level_spent_on_one_deadline_is_skipped_for_the_next(db, org):
    issue = _issue(db, org, assignee=org.staff)
    level_one = next(r for r in _rows(db, "issue", issue.id) if r.level == 1)
    assert delivery.send(level_one.id).status == "sent"  # the response was overdue
    db.session.commit()
    workflow.accept(issue, actor=org.staff, expected_version=issue.version)
    db.session.commit()
    waiting = [
        r
        for r in _rows(db, "issue", issue.id)
        if r.status == ReminderStatus.PENDING and r.kind == "issue.escalation"
    ]
    assert [(r.level, r.recipient_id) for r in waiting] == [(2, org.chief.id)]
    # Its first (and only) escalation comes one interval after the new deadline.
    assert waiting[0].due_at == issue.step_due_at + timedelta(hours=24)


def test_preferences_page(db, org, login, client):
    login(org.staff)
    page = client.get("/account/reminders")
    assert page.status_code == 200 and "提醒设置" in page.get_data(as_text=True)
    bad = client.post(
        "/account/reminders",
        data={"remind_before_minutes": "1440", "digest_hour": "25", "version": org.staff.version},
    )
    assert bad.status_code == 400
    saved = client.post(
        "/account/reminders",
        data={
            "remind_before_minutes": "240",
            "reminder_digest": "y",
            "digest_hour": "7",
            "version": org.staff.version,
        },
    )
    assert saved.status_code == 302
    db.session.expire_all()
    assert (org.staff.remind_before_minutes, org.staff.reminder_digest, org.staff.digest_hour) == (
        240,
        True,
        7,
    )
    stale = client.post(
        "/account/reminders",
        data={"remind_before_minutes": "60", "digest_hour": "7", "version": "1"},
    )
    assert stale.status_code == 409


def test_waiting_reminders_follow_the_items_title_and_the_readers_language(db, org):
    issue = _issue(db, org, assignee=org.staff)
    issue_services.update_issue(
        issue,
        actor=org.staff,
        expected_version=issue.version,
        category=IssueCategory.LAND,
        title="二期用地指标",
        unit=org.county,
        assignee=org.staff,
    )
    db.session.commit()
    waiting = [r for r in _rows(db, "issue", issue.id) if r.status == ReminderStatus.PENDING]
    assert waiting and all(
        "二期用地指标" in r.subject and "二期用地指标" in r.body for r in waiting
    )

    org.staff.locale = "en"
    db.session.commit()
    planner.replan("issue", issue)
    db.session.commit()
    mine = [r for r in _rows(db, "issue", issue.id) if r.recipient_id == org.staff.id]
    assert {r.subject for r in mine if r.kind == "issue.due"} == {"Due now: 二期用地指标"}
    assert all("Category: Land" in r.body for r in mine), mine[0].body
