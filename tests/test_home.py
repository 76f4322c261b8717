"""The home page: what needs the signed-in user's attention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from crm.models import (
    EnterpriseIssue,
    Flag,
    FollowUpStatus,
    IssueCategory,
    IssueStatus,
    Role,
    Visit,
    VisitKind,
)
from tests.helpers import add_follow_up, today, two_counties


@pytest.fixture
def world(db, make_unit, make_user, make_enterprise):
    people = two_counties(make_unit, make_user, leader=False)
    return {
        **people,
        "ent_a": make_enterprise(
            "宜宾新能源有限公司", units=[people["county_a"]], responsible=people["staff"]
        ),
        "ent_b": make_enterprise(
            "南溪食品有限公司", units=[people["county_b"]], responsible=people["other"]
        ),
    }


def issue(db, enterprise, title, assignee, status=IssueStatus.NEW, days=3):
    row = EnterpriseIssue(
        enterprise_id=enterprise.id,
        category=IssueCategory.PERMITS,
        title=title,
        due_date=today() + timedelta(days=days),
        status=status,
        assignee_id=assignee.id,
    )
    db.session.add(row)
    db.session.commit()
    return row


def visit(db, enterprise, summary, flag, days_ago):
    row = Visit(
        enterprise_id=enterprise.id,
        kind=VisitKind.DOOR_KNOCKING,
        visit_date=today() - timedelta(days=days_ago),
        summary=summary,
        flag=flag,
    )
    db.session.add(row)
    db.session.commit()
    return row


@pytest.mark.parametrize("role", [Role.ADMIN, Role.LEADER, Role.MANAGER, Role.STAFF])
def test_home_renders_for_each_role(client, login, make_user, world, role):
    user = make_user(role, [world["county_a"]] if role in (Role.MANAGER, Role.STAFF) else [])
    login(user)
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'action="/enterprises/"' in html and 'name="q"' in html


def test_home_shows_what_needs_attention(client, login, db, world):
    staff, ent_a, ent_b = world["staff"], world["ent_a"], world["ent_b"]
    late = add_follow_up(db, ent_a, staff, "逾期：寄送协议", -2)
    soon = add_follow_up(db, ent_a, staff, "明天：回访", 1)
    add_follow_up(db, ent_a, staff, "已完成的事", 1, FollowUpStatus.DONE)
    add_follow_up(db, ent_a, world["colleague"], "同事的事", 1)
    add_follow_up(db, ent_b, staff, "外区的事", 1)  # not in staff's scope
    mine = issue(db, ent_a, "施工许可", staff)
    issue(db, ent_a, "已关闭诉求", staff, IssueStatus.CLOSED)
    issue(db, ent_a, "同事的诉求", world["colleague"])
    red = visit(db, ent_a, "企业可能外迁", Flag.RED, 3)
    visit(db, ent_a, "很久以前的红旗", Flag.RED, 45)
    visit(db, ent_a, "黄旗", Flag.YELLOW, 1)
    visit(db, ent_b, "外区红旗", Flag.RED, 1)

    login(staff)
    html = client.get("/").get_data(as_text=True)
    assert "逾期：寄送协议" in html and "明天：回访" in html
    assert html.index("逾期：寄送协议") < html.index("明天：回访")
    assert f'class="list-group-item list-group-item-danger" data-follow-up="{late.id}"' in html
    assert f'class="list-group-item" data-follow-up="{soon.id}"' in html
    for absent in ("已完成的事", "同事的事", "外区的事", "已关闭诉求", "同事的诉求"):
        assert absent not in html
    assert f'data-issue="{mine.id}"' in html and "施工许可" in html
    assert f'data-visit="{red.id}"' in html and "企业可能外迁" in html
    for absent in ("很久以前的红旗", "黄旗", "外区红旗"):
        assert absent not in html
    assert f'data-enterprise="{ent_a.id}"' in html
    assert "南溪食品有限公司" not in html


def test_recent_enterprises_newest_activity_first(client, login, db, world, make_enterprise):
    from crm import timeline

    staff = world["staff"]
    older = make_enterprise("甲公司", units=[world["county_a"]], responsible=staff)
    newer = make_enterprise("乙公司", units=[world["county_a"]], responsible=staff)
    timeline.record(older.id, "note.added", actor=staff, subject_type="note", subject_id=None)
    db.session.commit()
    login(staff)
    html = client.get("/").get_data(as_text=True)
    assert html.index("甲公司") < html.index("乙公司") < html.index("宜宾新能源有限公司")
    assert newer.id  # listed, though less recently active


def test_home_queries_are_bounded(client, login, db, world, make_enterprise):
    staff = world["staff"]
    login(staff)

    def queries() -> int:
        seen = []
        listener = lambda *_a: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    add_follow_up(db, world["ent_a"], staff, "一", 1)
    issue(db, world["ent_a"], "一", staff)
    visit(db, world["ent_a"], "一", Flag.RED, 1)
    few = queries()
    for n in range(12):
        ent = make_enterprise(f"批量企业{n}有限公司", units=[world["county_a"]], responsible=staff)
        add_follow_up(db, ent, staff, f"事项{n}", n - 3)
        issue(db, ent, f"诉求{n}", staff)
        visit(db, ent, f"红旗{n}", Flag.RED, n)
    html_queries = queries()
    assert html_queries == few
    html = client.get("/").get_data(as_text=True)
    assert html.count("data-follow-up=") == 10
    assert html.count("data-issue=") == 10
    assert html.count("data-visit=") == 10
    assert html.count("data-enterprise=") == 10
