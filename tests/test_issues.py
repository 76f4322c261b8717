"""Enterprise issues (诉求): logging, editing, deleting, listing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.issues import services as issue_services
from crm.models import (
    EnterpriseIssue,
    IssueCategory,
    IssueStatus,
    VisitKind,
)
from crm.models.base import utcnow
from crm.visits import services as visit_services
from tests.helpers import count, events, today, two_counties


@pytest.fixture
def world(db, make_unit, make_user, make_enterprise):
    people = two_counties(make_unit, make_user)
    county_a, county_b = people["county_a"], people["county_b"]
    return {
        **people,
        "ent_a": make_enterprise(
            "宜宾新能源有限公司", units=[county_a], responsible=people["staff"]
        ),
        "ent_a2": make_enterprise(
            "宜宾纸业有限公司", units=[county_a], responsible=people["colleague"]
        ),
        "ent_b": make_enterprise("南溪食品有限公司", units=[county_b], responsible=people["other"]),
    }


def issue_count(db) -> int:
    return count(db, EnterpriseIssue)


def add_issue(db, enterprise, title, *, days=None, status=IssueStatus.NEW, **fields):
    """Insert directly, so that past due dates and later statuses can be set up."""
    issue = EnterpriseIssue(
        enterprise_id=enterprise.id,
        category=fields.pop("category", IssueCategory.POWER),
        title=title,
        due_date=today() + timedelta(days=days) if days is not None else None,
        status=status,
        **fields,
    )
    db.session.add(issue)
    db.session.commit()
    return issue


def log_visit(db, world, enterprise=None):
    visit = visit_services.log_visit(
        enterprise or world["ent_a"],
        actor=world["staff"],
        kind=VisitKind.DOOR_KNOCKING,
        visit_date=today(),
        summary="走访",
    )
    db.session.commit()
    return visit


def issue_form(**overrides) -> dict:
    data = {
        "category": IssueCategory.LAND.value,
        "title": "二期项目用地指标",
        "description": "企业希望年内落实50亩工业用地。",
        "due_date": (today() + timedelta(days=7)).isoformat(),
        "assignee": "",
        "unit": "",
    }
    data.update(overrides)
    return data


def listed_titles(html: str) -> list[str]:
    return re.findall(r'<a href="/issues/\d+">([^<]+)</a>', html)


# -- logging ----------------------------------------------------------------------------
def test_log_issue_from_a_visit(client, login, db, world):
    visit = log_visit(db, world)
    login(world["staff"])
    url = f"/enterprises/{world['ent_a'].id}/issues/new?visit_id={visit.id}"
    response = client.get(url)
    assert response.status_code == 200
    assert f"/visits/{visit.id}" in response.get_data(as_text=True)
    response = client.post(
        url,
        data=issue_form(assignee=world["colleague"].id, unit=world["county_a"].id),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enterprises/{world['ent_a'].id}")
    issue = db.session.execute(select(EnterpriseIssue)).scalar_one()
    assert issue.enterprise_id == world["ent_a"].id
    assert issue.visit_id == visit.id
    assert issue.category == IssueCategory.LAND
    assert issue.status == IssueStatus.NEW
    assert issue.title == "二期项目用地指标"
    assert issue.due_date == today() + timedelta(days=7)
    assert issue.assignee_id == world["colleague"].id
    assert issue.unit_id == world["county_a"].id
    assert issue.created_by_id == world["staff"].id

    (created,) = events(db, "issue.created")
    assert created.subject_type == "issue" and created.subject_id == issue.id
    assert created.enterprise_id == world["ent_a"].id
    assert created.data["title"] == "二期项目用地指标"
    assert created.data["category"] == "land"
    assert created.data["status"] == "new"
    assert created.data["assignee"] == "李强"
    assert created.data["unit"] == "翠屏区"
    assert created.data["visit_id"] == visit.id
    assert created.data["text"] == "企业希望年内落实50亩工业用地。"
    assert created.data["enum"] == {"category": "IssueCategory", "status": "IssueStatus"}


def test_minimal_issue(client, login, db, world):
    login(world["staff"])
    response = client.post(
        f"/enterprises/{world['ent_a'].id}/issues/new",
        data=issue_form(description="", due_date=""),
    )
    assert response.status_code == 302
    issue = db.session.execute(select(EnterpriseIssue)).scalar_one()
    assert issue.visit_id is None and issue.due_date is None
    assert issue.assignee_id is None and issue.unit_id is None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": " "}, "title", "This field is required."),
        ({"due_date": "__past__"}, "due_date", "The due date cannot be in the past."),
        ({"due_date": "31/02/2024"}, "due_date", "Enter a valid date, e.g. 2024-05-31."),
        ({"category": "gossip"}, "category", "Not a valid choice."),
    ],
)
def test_invalid_issue_is_not_saved(client, login, db, world, overrides, field, message):
    if overrides.get("due_date") == "__past__":
        overrides["due_date"] = (today() - timedelta(days=1)).isoformat()
    login(world["staff"])
    response = client.post(
        f"/enterprises/{world['ent_a'].id}/issues/new", data=issue_form(**overrides)
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    pattern = (
        rf'name="{field}".*?<div class="invalid-feedback d-block" role="alert">{re.escape(message)}'
    )
    assert re.search(pattern, html, re.S)
    assert issue_count(db) == 0
    assert events(db, "issue.created") == []


def test_unit_outside_the_users_reach_cannot_be_chosen(client, login, db, world):
    login(world["staff"])
    response = client.post(
        f"/enterprises/{world['ent_a'].id}/issues/new", data=issue_form(unit=world["county_b"].id)
    )
    assert response.status_code == 400
    assert issue_count(db) == 0


def test_visit_of_another_enterprise_gives_404(client, login, db, world):
    foreign_visit = log_visit(db, world, world["ent_a2"])
    login(world["staff"])
    base = f"/enterprises/{world['ent_a'].id}/issues/new"
    assert client.get(f"{base}?visit_id={foreign_visit.id}").status_code == 404
    assert client.post(f"{base}?visit_id={foreign_visit.id}", data=issue_form()).status_code == 404
    assert client.get(f"{base}?visit_id=999999").status_code == 404
    assert client.get(f"{base}?visit_id=abc").status_code == 404
    assert issue_count(db) == 0


# -- detail, edit, delete ---------------------------------------------------------------
def test_detail_edit_and_timeline(client, login, db, world):
    issue = add_issue(db, world["ent_a"], "电力增容", days=3)
    login(world["staff"])
    response = client.get(f"/issues/{issue.id}")
    assert response.status_code == 200
    assert "电力增容" in response.get_data(as_text=True)
    assert "Power and utilities" in response.get_data(as_text=True)

    assert client.get(f"/issues/{issue.id}/edit").status_code == 200
    response = client.post(
        f"/issues/{issue.id}/edit",
        data=issue_form(
            category=IssueCategory.POWER.value,
            title="电力增容至2万千伏安",
            description="",
            due_date=(today() + timedelta(days=3)).isoformat(),
            assignee=world["colleague"].id,
            version=issue.version,
        ),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enterprises/{world['ent_a'].id}")
    db.session.expire_all()
    issue = db.session.get(EnterpriseIssue, issue.id)
    assert issue.title == "电力增容至2万千伏安"
    assert issue.assignee_id == world["colleague"].id
    assert issue.version == 2
    (updated,) = events(db, "issue.updated")
    changes = {c["field"]: (c["old"], c["new"]) for c in updated.data["changes"]}
    assert changes == {
        "title": ("电力增容", "电力增容至2万千伏安"),
        "assignee": (None, "李强"),
    }
    assert updated.data["enum"] == {"category": "IssueCategory", "status": "IssueStatus"}


def test_edit_keeps_a_passed_due_date(client, login, db, world):
    issue = add_issue(db, world["ent_a"], "融资对接", days=-5)
    login(world["staff"])
    response = client.post(
        f"/issues/{issue.id}/edit",
        data=issue_form(
            category=IssueCategory.FINANCING.value,
            title="融资对接（银行）",
            due_date=issue.due_date.isoformat(),
            version=1,
        ),
    )
    assert response.status_code == 302


def test_stale_issue_edit_gives_409(client, login, db, world):
    issue = add_issue(db, world["ent_a"], "用工", category=IssueCategory.STAFF)
    login(world["staff"])
    data = issue_form(category="staff", title="招工100人", due_date="", version=1)
    assert client.post(f"/issues/{issue.id}/edit", data=data).status_code == 302
    data = issue_form(category="staff", title="招工200人", due_date="", version=1)
    response = client.post(f"/issues/{issue.id}/edit", data=data)
    assert response.status_code == 409
    assert "This record was changed by someone else" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(EnterpriseIssue, issue.id).title == "招工100人"


def test_delete_is_soft_and_hides_the_issue(client, login, db, world):
    issue = add_issue(db, world["ent_a"], "物流通道", days=2)
    login(world["staff"])
    response = client.post(f"/issues/{issue.id}/delete")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enterprises/{world['ent_a'].id}")
    db.session.expire_all()
    row = db.session.get(EnterpriseIssue, issue.id)
    assert row.deleted_at is not None and row.deleted_by_id == world["staff"].id
    (deleted,) = events(db, "issue.deleted")
    assert deleted.subject_id == issue.id and deleted.data["title"] == "物流通道"
    assert client.get(f"/issues/{issue.id}").status_code == 404
    assert "物流通道" not in client.get("/issues").get_data(as_text=True)


# -- the list ---------------------------------------------------------------------------
def test_index_lists_only_issues_in_scope_by_due_date(client, switch, db, world):
    add_issue(db, world["ent_a"], "甲-后到期", days=10)
    add_issue(db, world["ent_a2"], "甲二-先到期", days=1)
    add_issue(db, world["ent_a"], "甲-无期限")
    add_issue(db, world["ent_b"], "乙-外区", days=2)
    gone = add_issue(db, world["ent_a"], "甲-已删除", days=3)
    gone.deleted_at = utcnow()
    db.session.commit()

    switch(world["staff"])
    html = client.get("/issues").get_data(as_text=True)
    assert listed_titles(html) == ["甲二-先到期", "甲-后到期", "甲-无期限"]

    switch(world["other"])
    assert listed_titles(client.get("/issues").get_data(as_text=True)) == ["乙-外区"]

    switch(world["leader"])
    html = client.get("/issues").get_data(as_text=True)
    assert listed_titles(html) == ["甲二-先到期", "乙-外区", "甲-后到期", "甲-无期限"]


def test_index_filters(client, login, db, world):
    late = add_issue(db, world["ent_a"], "逾期未办", days=-2, category=IssueCategory.LAND)
    add_issue(db, world["ent_a"], "逾期已办", days=-3, status=IssueStatus.CLOSED)
    add_issue(db, world["ent_a"], "按期在办", days=4, status=IssueStatus.IN_PROGRESS)
    login(world["staff"])

    html = client.get("/issues?overdue=y").get_data(as_text=True)
    assert listed_titles(html) == ["逾期未办"]
    assert re.search(rf'<tr class="table-danger" data-issue="{late.id}">', html)
    assert listed_titles(client.get("/issues?status=closed").get_data(as_text=True)) == ["逾期已办"]
    assert listed_titles(client.get("/issues?status=open").get_data(as_text=True)) == [
        "逾期未办",
        "按期在办",
    ]
    assert listed_titles(client.get("/issues?category=land").get_data(as_text=True)) == ["逾期未办"]
    assert client.get("/issues?status=nonsense").status_code == 200


def test_index_is_bounded_in_queries(client, login, db, world):
    from sqlalchemy import event

    login(world["staff"])

    def queries() -> int:
        seen = []
        listener = lambda *_a: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/issues").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    add_issue(db, world["ent_a"], "一", days=1, assignee_id=world["staff"].id)
    few = queries()
    for n in range(6):
        add_issue(
            db,
            world["ent_a2"] if n % 2 else world["ent_a"],
            f"事项{n}",
            days=n,
            assignee_id=world["colleague"].id,
            unit_id=world["county_a"].id,
        )
    assert queries() == few


# -- access -----------------------------------------------------------------------------
def test_other_units_staff_gets_404(client, switch, db, world):
    issue = add_issue(db, world["ent_a"], "电力增容", days=3)
    switch(world["other"])
    assert client.get(f"/enterprises/{world['ent_a'].id}/issues/new").status_code == 404
    response = client.post(f"/enterprises/{world['ent_a'].id}/issues/new", data=issue_form())
    assert response.status_code == 404
    assert client.get(f"/issues/{issue.id}").status_code == 404
    assert client.get(f"/issues/{issue.id}/edit").status_code == 404
    assert client.post(f"/issues/{issue.id}/delete").status_code == 404
    assert issue_count(db) == 1


def test_leader_gets_403_on_changes(client, switch, db, world):
    issue = add_issue(db, world["ent_a"], "电力增容", days=3)
    switch(world["leader"])
    assert client.get(f"/issues/{issue.id}").status_code == 200
    response = client.post(f"/enterprises/{world['ent_a'].id}/issues/new", data=issue_form())
    assert response.status_code == 403
    edit = issue_form(title="改", version=1)
    assert client.post(f"/issues/{issue.id}/edit", data=edit).status_code == 403
    assert client.post(f"/issues/{issue.id}/delete").status_code == 403
    db.session.expire_all()
    assert db.session.get(EnterpriseIssue, issue.id).deleted_at is None
    assert issue_count(db) == 1


def test_is_overdue_helper(db, world):
    issue = add_issue(db, world["ent_a"], "x", days=-1)
    assert issue_services.is_overdue(issue)
    issue.status = IssueStatus.RESOLVED
    assert not issue_services.is_overdue(issue)
