"""Stalled projects and missing monthly funds reports produce reminders and escalations.

Mails go to a real SMTP server on loopback; time is passed to the sweep and, for
the funds month, "today" is pinned (the plan reads the local day).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from crm.clock import local_today
from crm.extensions import db as _db
from crm.models import (
    Escalation,
    FundsSource,
    ProjectStage,
    Reminder,
    ReminderStatus,
    Role,
    StallThreshold,
    UnitKind,
)
from crm.projects.services import change_stage, create_project, record_funds
from crm.reminders import delivery, project_plans


@pytest.fixture
def org(db, make_unit, make_user, make_enterprise):
    """Bureau → county; the firm's responsible staff member, the county's manager, the chief."""
    bureau = make_unit("市投促局", UnitKind.BUREAU)
    county = make_unit("翠屏区", UnitKind.COUNTY, parent=bureau)
    staff = make_user(Role.STAFF, [county], name="李专员", email="li@example.test", locale="en")
    manager = make_user(
        Role.MANAGER, [county], name="王科长", email="wang@example.test", locale="en"
    )
    chief = make_user(Role.MANAGER, [bureau], name="张局长", email="zhang@example.test")
    firm = make_enterprise("宜宾长盈精密技术有限公司", units=[county], responsible=staff)
    orphan = make_enterprise("无人负责有限公司", units=[county])

    class Org:
        pass

    org = Org()
    org.__dict__.update(
        bureau=bureau,
        county=county,
        staff=staff,
        manager=manager,
        chief=chief,
        firm=firm,
        orphan=orphan,
    )
    return org


def nine_am(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)  # 09:00 in UTC+8


def project(db, org, name, stage, stage_on, firm=None, **fields):
    made = create_project(
        firm or org.firm,
        actor=None,
        name=name,
        county=org.county,
        stage=stage,
        stage_on=stage_on,
        **fields,
    )
    db.session.commit()
    return made


def rows(db, subject_type, subject_id=None):
    db.session.expire_all()
    stmt = select(Reminder).where(Reminder.subject_type == subject_type)
    if subject_id is not None:
        stmt = stmt.where(Reminder.subject_id == subject_id)
    return list(db.session.execute(stmt.order_by(Reminder.due_at, Reminder.recipient_id)).scalars())


def sweep(db, now) -> dict[int, str]:
    ids = delivery.claim_due(now=now)
    db.session.commit()
    outcomes = {}
    for reminder_id in ids:
        outcomes[reminder_id] = delivery.send(reminder_id, now=now).status
        db.session.commit()
    return outcomes


def test_a_stalled_project_reminds_then_escalates_level_by_level(db, org, smtp):
    today = local_today()
    last = today - timedelta(days=40)  # negotiation allows 30 days
    stalled = project(db, org, "锂电池正极材料项目", ProjectStage.NEGOTIATION, last)
    fresh = project(db, org, "新近洽谈项目", ProjectStage.NEGOTIATION, today - timedelta(days=3))
    assert project_plans.plan_periodic() == {"project_stalled": 1, "project_funds": 0}
    db.session.commit()
    became = nine_am(last + timedelta(days=31))  # the first day the dashboard counts it
    assert [(r.kind, r.recipient_id, r.due_at, r.level) for r in rows(db, "project_stalled")] == [
        ("project_stalled.due", org.staff.id, became, None),
        ("project_stalled.escalation", org.manager.id, became + timedelta(days=30), 1),
        ("project_stalled.escalation", org.chief.id, became + timedelta(days=60), 2),
    ]
    assert rows(db, "project_stalled", fresh.id) == []
    # Nothing new: the next pass replans nothing.
    assert project_plans.plan_periodic()["project_stalled"] == 0

    # The responsible staff member is told at once (the occasion is past).
    outcomes = sweep(db, became + timedelta(minutes=1))
    assert list(outcomes.values()) == ["sent"]
    mail = smtp.messages()[0]
    assert mail["To"] == "li@example.test" and "锂电池正极材料项目" in mail["Subject"]
    assert f"https://crm.test/projects/{stalled.id}" in mail.get_body(("plain",)).get_content()

    # A threshold later, still stalled: the county's managers; the escalation is recorded.
    outcomes = sweep(db, became + timedelta(days=30, minutes=1))
    assert list(outcomes.values()) == ["sent"]
    escalation = db.session.execute(select(Escalation)).scalar_one()
    assert (escalation.subject_type, escalation.subject_id, escalation.level) == (
        "project_stalled",
        stalled.id,
        1,
    )
    assert escalation.unit_id == org.county.id and escalation.enterprise_id == org.firm.id
    assert escalation.reason == "stalled"
    assert smtp.messages()[-1]["To"] == "wang@example.test"

    # Progress: the chief's escalation still waiting is cancelled by the next pass.
    change_stage(
        stalled,
        actor=None,
        expected_version=stalled.version,
        to_stage=ProjectStage.SIGNED,
        effective_on=today,
    )
    db.session.commit()
    project_plans.plan_periodic()
    db.session.commit()
    old = [r for r in rows(db, "project_stalled") if r.occasion_at == became]
    assert [(r.recipient_id, r.status) for r in old] == [
        (org.staff.id, ReminderStatus.SENT),
        (org.manager.id, ReminderStatus.SENT),
        (org.chief.id, ReminderStatus.CANCELLED),
    ]
    # What it wants now is for the new stage's stall (signed: 20 days), not yet due; level 1
    # was spent on the first stall, so a second one goes to the level above.
    waiting = [r for r in rows(db, "project_stalled") if r.status == ReminderStatus.PENDING]
    again = nine_am(today + timedelta(days=21))
    assert [(r.recipient_id, r.due_at, r.level) for r in waiting] == [
        (org.staff.id, again, None),
        (org.chief.id, again + timedelta(days=20), 2),
    ]


def test_nobody_responsible_the_unit_managers_are_told_and_a_county_threshold_counts(db, org, smtp):
    db.session.add(StallThreshold(unit_id=org.county.id, stage=ProjectStage.SIGNED, days=5))
    db.session.commit()
    last = local_today() - timedelta(days=8)  # the city's 20 days would not stall it yet
    made = project(db, org, "无人负责项目", ProjectStage.SIGNED, last, firm=org.orphan)
    project_plans.plan_periodic()
    db.session.commit()
    became = nine_am(last + timedelta(days=6))
    assert [(r.kind, r.recipient_id, r.due_at) for r in rows(db, "project_stalled", made.id)] == [
        ("project_stalled.due", org.manager.id, became),
        # Level 1 was told on the day: the first escalation is the level above.
        ("project_stalled.escalation", org.chief.id, became + timedelta(days=5)),
    ]
    assert rows(db, "project_stalled", made.id)[1].level == 2


def test_a_deleted_project_cancels_its_reminders(db, org):
    from crm.projects.services import delete_project

    made = project(
        db, org, "将删除项目", ProjectStage.NEGOTIATION, local_today() - timedelta(days=35)
    )
    project_plans.plan_periodic()
    db.session.commit()
    assert rows(db, "project_stalled", made.id)
    delete_project(made, actor=None)
    db.session.commit()
    project_plans.plan_periodic()
    db.session.commit()
    assert {r.status for r in rows(db, "project_stalled", made.id)} == {ReminderStatus.CANCELLED}


@pytest.fixture
def pinned(monkeypatch):
    """Pin the local day the funds plan reads: day ``n`` of this month."""

    def _pin(day_of_month: int) -> date:
        day = local_today().replace(day=day_of_month)
        monkeypatch.setattr(project_plans, "local_today", lambda: day)
        return day

    return _pin


def test_a_missing_funds_report_reminds_on_the_5th_and_escalates_on_the_10th(db, org, smtp, pinned):
    this_month = local_today().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    long_ago = this_month - timedelta(days=70)
    missing = project(db, org, "未报资金项目", ProjectStage.LANDED, long_ago)
    reported = project(db, org, "已报资金项目", ProjectStage.STARTED, long_ago)
    record_funds(
        reported,
        actor=None,
        month=last_month,
        source=FundsSource.OUTSIDE_PROVINCE,
        amount_wan=Decimal("100"),
    )
    project(db, org, "本月落地项目", ProjectStage.LANDED, this_month)  # nothing to report yet
    project(db, org, "洽谈中项目", ProjectStage.NEGOTIATION, long_ago - timedelta(days=1))
    db.session.commit()

    pinned(4)
    assert project_plans.plan_funds(this_month.replace(day=4)) == 0  # not before the 5th
    today = pinned(6)
    assert project_plans.plan_funds(today) == 1
    db.session.commit()
    fifth = nine_am(this_month.replace(day=5))
    assert [(r.kind, r.recipient_id, r.due_at) for r in rows(db, "project_funds")] == [
        ("project_funds.due", org.staff.id, fifth),
        ("project_funds.escalation", org.manager.id, fifth + timedelta(days=5)),
        ("project_funds.escalation", org.chief.id, fifth + timedelta(days=10)),
    ]
    assert {r.subject_id for r in rows(db, "project_funds")} == {missing.id}
    assert project_plans.plan_funds(today) == 0

    assert list(sweep(db, fifth + timedelta(minutes=1)).values()) == ["sent"]
    body = smtp.messages()[0].get_body(("plain",)).get_content()
    assert "未报资金项目" in body and f"/projects/{missing.id}" in body

    pinned(10)
    assert list(sweep(db, fifth + timedelta(days=5, minutes=1)).values()) == ["sent"]
    assert smtp.messages()[-1]["To"] == "wang@example.test"
    assert db.session.execute(
        select(Escalation.subject_type, Escalation.level, Escalation.reason)
    ).all() == [("project_funds", 1, "funds")]

    # Reported at last: the chief's escalation is cancelled by the next pass.
    record_funds(
        missing,
        actor=None,
        month=last_month,
        source=FundsSource.WITHIN_CITY,
        amount_wan=Decimal("50"),
    )
    db.session.commit()
    assert project_plans.plan_funds(this_month.replace(day=10)) == 1
    db.session.commit()
    chief_row = rows(db, "project_funds")[-1]
    assert chief_row.recipient_id == org.chief.id and chief_row.status == ReminderStatus.CANCELLED


def test_a_funds_row_of_last_month_is_not_sent_this_month(db, org, pinned):
    this_month = local_today().replace(day=1)
    made = project(db, org, "跨月项目", ProjectStage.STARTED, this_month - timedelta(days=80))
    pinned(6)
    project_plans.plan_funds(local_today().replace(day=6))
    db.session.commit()
    due_row = rows(db, "project_funds", made.id)[0]
    # Next month the row stands for a month that is no longer the one due.
    next_month = (this_month + timedelta(days=32)).replace(day=6)
    from crm.reminders import project_plans as plans

    plans.local_today = lambda: next_month  # undone by monkeypatch at teardown
    claimed = delivery.claim_due(now=due_row.due_at + timedelta(minutes=1))
    db.session.commit()
    assert delivery.send(claimed[0]).status == "cancelled"


def test_the_periodic_pass_costs_a_few_queries_whatever_the_number_of_projects(db, org):
    long_ago = local_today() - timedelta(days=50)
    for number in range(40):
        project(db, org, f"停滞项目{number}", ProjectStage.NEGOTIATION, long_ago)
    project_plans.plan_periodic()
    db.session.commit()
    statements = []

    def count(*_args):
        statements.append(1)

    engine = _db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert project_plans.plan_periodic() == {"project_stalled": 0, "project_funds": 0}
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) <= 8, len(statements)
