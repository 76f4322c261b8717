"""The enterprise file (一企一档): one timeline, newest first, in a bounded number of queries."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, insert

from crm.models import (
    Contact,
    Document,
    DocumentKind,
    EnterpriseIssue,
    FollowUp,
    IssueCategory,
    IssueStatus,
    Role,
    TimelineEvent,
)

START = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def county(make_unit):
    return make_unit("翠屏区")


@pytest.fixture
def staff(make_user, county, login):
    user = make_user(Role.STAFF, [county], locale="en", name="张三")
    login(user)
    return user


@pytest.fixture
def firm(make_enterprise, county, staff):
    return make_enterprise("宜宾长盈精密技术有限公司", units=[county], actor=staff)


def add_events(db, enterprise, actor, count, *, start=START, step=timedelta(hours=1)):
    rows = [
        {
            "enterprise_id": enterprise.id,
            "occurred_at": start + i * step,
            "recorded_at": start + i * step,
            "actor_id": actor.id,
            "kind": "note.added",
            "subject_type": "note",
            "subject_id": i + 1,
            "data": {"title": f"第{i}条记录", "text": "拜访纪要"},
        }
        for i in range(count)
    ]
    db.session.execute(insert(TimelineEvent), rows)
    db.session.commit()


def event_titles(html: str) -> list[str]:
    return re.findall(r"第(\d+)条记录", html)


@contextmanager
def counting_queries(db):
    statements: list[str] = []

    def _count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", _count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", _count)


def test_a_thousand_entries_in_few_queries_newest_first(client, db, firm, staff, app):
    add_events(db, firm, staff, 1000)
    db.session.add(
        Contact(enterprise_id=firm.id, name="王经理", is_main=True, known_by_id=staff.id)
    )
    db.session.add(Contact(enterprise_id=firm.id, name="李助理"))
    db.session.commit()
    url = f"/enterprises/{firm.id}"  # before counting: reading firm.id reloads it here
    with counting_queries(db) as statements:
        response = client.get(url)
    assert response.status_code == 200
    assert len(statements) <= 13, "\n".join(statements)
    html = response.get_data(as_text=True)
    shown = [int(n) for n in event_titles(html)]
    size = app.config["TIMELINE_PAGE_SIZE"]
    # The registration (today) is the newest entry, then the notes from the newest down.
    assert html.count('class="timeline-item') == size
    assert html.index("Enterprise registered") < html.index("第999条记录")
    assert shown == list(range(999, 999 - (size - 1), -1))
    assert "Older entries" in html


def test_older_entries_follow_on_without_gaps(client, db, firm, staff, app, monkeypatch):
    monkeypatch.setitem(app.config, "TIMELINE_PAGE_SIZE", 4)
    # Several entries at the same moment: the id breaks the tie.
    add_events(db, firm, staff, 10, step=timedelta(0))
    seen: list[str] = []
    url = f"/enterprises/{firm.id}"
    assert "Enterprise registered" in client.get(url).get_data(as_text=True)
    for _ in range(5):
        html = client.get(url).get_data(as_text=True)
        seen += event_titles(html)
        match = re.search(
            r'href="([^"]*before=[^"]*)"[^>]*>Older entries', html.replace("&amp;", "&")
        )
        if not match:
            break
        url = match.group(1)
    # Each note exactly once, newest (highest id) first.
    assert seen == [str(n) for n in range(9, -1, -1)]


def test_bad_cursor_shows_the_first_page(client, firm):
    for junk in ("yesterday,3", "2024-01-01T00:00:00", "x,y", ""):
        response = client.get(f"/enterprises/{firm.id}", query_string={"before": junk})
        assert response.status_code == 200
        assert "Enterprise registered" in response.get_data(as_text=True)


def test_the_file_shows_contacts_follow_ups_issues_documents_and_actions(client, db, firm, staff):
    today = date.today()
    db.session.add_all(
        [
            Contact(
                enterprise_id=firm.id,
                name="王经理",
                title="总经理",
                is_main=True,
                phone="13800000000",
            ),
            Contact(enterprise_id=firm.id, name="李助理"),
            Contact(enterprise_id=firm.id, name="已删除的人", deleted_at=START),
            FollowUp(
                enterprise_id=firm.id,
                title="送政策材料",
                due_date=today - timedelta(days=3),
                owner_id=staff.id,
            ),
            FollowUp(
                enterprise_id=firm.id, title="回访用电问题", due_date=today + timedelta(days=5)
            ),
            FollowUp(enterprise_id=firm.id, title="已完成的事", due_date=today, status="done"),
            EnterpriseIssue(
                enterprise_id=firm.id,
                category=IssueCategory.POWER,
                title="变电站增容",
                status=IssueStatus.IN_PROGRESS,
            ),
            EnterpriseIssue(
                enterprise_id=firm.id,
                category=IssueCategory.LAND,
                title="已关闭的诉求",
                status=IssueStatus.CLOSED,
            ),
            Document(
                enterprise_id=firm.id,
                kind=DocumentKind.CONTRACT,
                title="投资协议",
                filename="contract.pdf",
                content_type="application/pdf",
                size_bytes=2048,
                sha256="0" * 64,
                storage_key="k1",
            ),
        ]
    )
    db.session.commit()
    html = client.get(f"/enterprises/{firm.id}").get_data(as_text=True)
    contacts = html.split('id="contacts"')[1].split("</ul>")[0]
    assert contacts.index("王经理") < contacts.index("李助理")
    assert "Main contact" in contacts
    assert "已删除的人" not in html
    assert "/contacts/" in contacts and "/edit" in contacts
    follow_ups = html.split('id="follow-ups"')[1].split("</ul>")[0]
    assert follow_ups.index("送政策材料") < follow_ups.index("回访用电问题")
    assert "Overdue" in follow_ups and "list-group-item-danger" in follow_ups
    assert "已完成的事" not in html
    assert "变电站增容" in html and "已关闭的诉求" not in html
    assert "投资协议" in html and "/documents/" in html and "/download" in html
    for path in (
        "visits/new",
        "issues/new",
        "notes/new",
        "documents/new",
        "dossier",
        "contacts/new",
    ):
        assert f"/enterprises/{firm.id}/{path}" in html


def test_entries_render_changes_enums_and_flags(client, db, firm, staff):
    db.session.add_all(
        [
            TimelineEvent(
                enterprise_id=firm.id,
                occurred_at=START,
                recorded_at=START,
                actor_id=staff.id,
                kind="visit.updated",
                subject_type="visit",
                subject_id=7,
                data={
                    "title": "敲门拜访：讨论扩产",
                    "changes": [
                        {"field": "kind", "old": "call", "new": "door_knocking"},
                        {"field": "flag", "old": "none", "new": "red"},
                        {"field": "visit_date", "old": "2024-01-02", "new": "2024-01-03"},
                    ],
                    "enum": {"kind": "VisitKind", "flag": "Flag"},
                },
            ),
            TimelineEvent(
                enterprise_id=firm.id,
                occurred_at=START - timedelta(days=1),
                recorded_at=START,
                actor_id=None,
                kind="follow_up.created",
                subject_type="follow_up",
                subject_id=3,
                data={"title": "送材料", "flag": "yellow", "due_date": "2024-02-01", "visit_id": 7},
            ),
        ]
    )
    db.session.commit()
    html = client.get(f"/enterprises/{firm.id}").get_data(as_text=True)
    assert "Visit changed" in html
    assert "Type:</span> <del" in html
    assert "Phone / video call</del>" in html and "Door-knocking visit</ins>" in html
    assert "Red: urgent</ins>" in html
    assert "3 Jan 2024</ins>" in html
    assert re.search(r'class="timeline-item flag-red"[^>]*data-kind="visit.updated"', html)
    assert re.search(r'class="timeline-item flag-yellow"[^>]*data-kind="follow_up.created"', html)
    assert 'href="/visits/7"' in html
    assert "System" in html and "Follow-up planned" in html
    assert "1 Feb 2024" in html


def test_dossier_prints_the_whole_file(client, db, firm, staff, app, monkeypatch):
    monkeypatch.setitem(app.config, "TIMELINE_PAGE_SIZE", 5)
    add_events(db, firm, staff, 30)
    db.session.add(Contact(enterprise_id=firm.id, name="王经理", is_main=True))
    db.session.commit()
    response = client.get(f"/enterprises/{firm.id}/dossier")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert event_titles(html) == [str(n) for n in range(29, -1, -1)]
    assert "王经理" in html and "Unified social credit code" in html
    assert "data-print" in html and "js/enterprises.js" in html
    assert "<script>" not in html  # no inline script: the CSP forbids it
