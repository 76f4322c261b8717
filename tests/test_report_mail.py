"""Publishing the monthly report mails it to managers and leaders (real SMTP on loopback)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.models import Reminder, ReminderStatus, Role
from crm.models.base import utcnow
from crm.reminders import delivery
from crm.reports import services
from tests.test_reports import JUNE, PUBLISH_URL, build_world


@pytest.fixture
def world(app, db, make_unit, make_enterprise):
    return build_world(app, db, make_unit, make_enterprise)


@pytest.fixture
def people(make_user, world):
    return {
        "admin": make_user(Role.ADMIN, name="管理员", email="admin@example.test"),
        # A digest reader: the report is still mailed at once, never held.
        "manager": make_user(
            Role.MANAGER,
            [world["a"]],
            name="孙科长",
            email="sun@example.test",
            locale="en",
            reminder_digest=True,
        ),
        "leader": make_user(Role.LEADER, name="赵局长", email="zhao@example.test"),
        "staff": make_user(Role.STAFF, [world["a"]], name="张敏", email="zhang@example.test"),
        "gone": make_user(Role.MANAGER, name="离职科长", email="gone@example.test", active=False),
    }


def _rows(db):
    db.session.expire_all()
    return list(db.session.execute(select(Reminder).order_by(Reminder.recipient_id)).scalars())


def test_publishing_mails_managers_and_leaders(app, db, client, login, people, smtp):
    login(people["manager"])
    response = client.post(PUBLISH_URL, data={"note": "请各县区对照目标加快进度"})
    assert response.status_code == 302
    report = services.published_report(JUNE)
    rows = _rows(db)
    assert [(r.recipient_id, r.kind) for r in rows] == [
        (people["manager"].id, "report.published"),
        (people["leader"].id, "report.published"),
    ]
    assert all(r.subject_type == "report" and r.subject_id == report.id for r in rows)
    assert {r.dedupe_key for r in rows} == {
        f"report:{report.id}:u{people['manager'].id}",
        f"report:{report.id}:u{people['leader'].id}",
    }
    assert all(r.due_at <= utcnow() for r in rows)

    ids = delivery.claim_due()
    db.session.commit()
    assert sorted(ids) == sorted(r.id for r in rows)
    for reminder_id in ids:
        assert delivery.send(reminder_id).status == "sent"
        db.session.commit()
    assert {r.status for r in _rows(db)} == {ReminderStatus.SENT}

    mails = {m["To"]: m for m in smtp.messages()}
    assert set(mails) == {"sun@example.test", "zhao@example.test"}
    english = mails["sun@example.test"]
    assert "June 2025" in english["Subject"]
    text = english.get_body(("plain",)).get_content()
    html = english.get_body(("html",)).get_content()
    # The top of each ranking: rank, unit, overall completion (A and C tie at 60%).
    assert "1. 翠屏区 — Overall completion 60.0%" in text
    assert "1. 南溪区 — Overall completion 60.0%" in text
    assert "3. 叙州区 — Overall completion 15.0%" in text
    assert "江安县" not in text  # no target: unranked, not at the top
    assert "1. 数字经济专班 — Overall completion 50.0%" in text
    assert text.index("翠屏区") < text.index("数字经济专班")
    assert "请各县区对照目标加快进度" in text
    assert "https://crm.test/reports/2025/6" in text
    assert 'href="https://crm.test/reports/2025/6.xlsx"' in html
    assert html.count("<tr data-rank=") == 4
    # The leader reads Chinese: the month is written the Chinese way.
    assert "2025年6月" in mails["zhao@example.test"]["Subject"]


def test_a_publish_rolled_back_mails_nothing(app, db, people):
    with app.test_request_context():
        services.publish_report(JUNE, actor=people["admin"])
        assert len(_rows(db)) == 2
        db.session.rollback()
    assert _rows(db) == []
    assert delivery.claim_due(now=utcnow() + timedelta(days=1)) == []
