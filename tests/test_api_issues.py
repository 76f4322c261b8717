"""/api/v1/issues: enterprise issues and their workflow steps through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.issues import services as issue_services
from crm.models import EnterpriseIssue, IssueCategory, IssueStatus, IssueStep
from crm.models.base import utcnow
from tests.helpers import count, events, today, two_counties

PROBLEM = "application/problem+json"


@pytest.fixture
def world(db, make_unit, make_user, make_enterprise):
    people = two_counties(make_unit, make_user, manager=True)
    return {
        **people,
        "ent_a": make_enterprise("宜宾新能源有限公司", units=[people["county_a"]]),
        "ent_b": make_enterprise("南溪食品有限公司", units=[people["county_b"]]),
    }


def _issue(db, enterprise, actor, title="二期项目用地指标", **fields):
    fields.setdefault("category", IssueCategory.LAND)
    issue = issue_services.create_issue(enterprise, actor=actor, title=title, **fields)
    db.session.commit()
    return issue


def _ids(response) -> list[int]:
    return [item["id"] for item in response.get_json()["items"]]


def test_list_filters_scope_and_cursor_pages(db, world, api_for):
    ent_a, staff = world["ent_a"], world["staff"]
    made = [_issue(db, ent_a, staff, title=f"诉求{i}").id for i in range(5)]
    power = _issue(db, ent_a, staff, title="用电", category=IssueCategory.POWER)
    made.append(power.id)
    other = _issue(db, world["ent_b"], world["other"], title="别处的诉求")
    api = api_for(staff)

    seen, cursor = [], None
    while True:
        url = "/api/v1/issues/?limit=4" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(url).get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(made) and other.id not in seen

    assert _ids(api.get("/api/v1/issues/?category=power")) == [power.id]
    assert _ids(api.get("/api/v1/issues/?status=accepted")) == []
    assert len(_ids(api.get("/api/v1/issues/?status=open"))) == 6
    # The current step's deadline (respond within 60 minutes) has not passed yet.
    assert _ids(api.get("/api/v1/issues/?step_due=overdue")) == []
    power.step_due_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert _ids(api.get("/api/v1/issues/?step_due=overdue")) == [power.id]
    by_enterprise = api.get(f"/api/v1/enterprises/{ent_a.id}/issues?category=power")
    assert _ids(by_enterprise) == [power.id]
    assert api.get(f"/api/v1/enterprises/{world['ent_b'].id}/issues").status_code == 404

    bad = api.get("/api/v1/issues/?step_due=someday")
    assert bad.status_code == 422 and bad.content_type == PROBLEM
    assert bad.get_json(force=True)["errors"][0]["field"] == "step_due"
    assert api.get("/api/v1/issues/?unit=1").status_code == 422  # unknown parameter


def test_unit_filter_takes_the_subtree(db, world, make_unit, api_for):
    below = make_unit("翠屏区工业园", parent=world["county_a"])
    ent_a, staff = world["ent_a"], world["staff"]
    in_park = _issue(db, ent_a, staff, unit=below)
    in_county = _issue(db, ent_a, staff, unit=world["county_a"])
    _issue(db, ent_a, staff)
    api = api_for(world["manager"])
    assert _ids(api.get(f"/api/v1/issues/?unit_id={below.id}")) == [in_park.id]
    found = _ids(api.get(f"/api/v1/issues/?unit_id={world['county_a'].id}"))
    assert found == sorted([in_park.id, in_county.id])


def test_create_records_in_the_file_with_the_token_user(db, world, api_for):
    staff = world["staff"]
    api = api_for(staff)
    url = f"/api/v1/enterprises/{world['ent_a'].id}/issues"
    response = api.post(
        url,
        json={
            "category": "power",
            "title": "增容",
            "due_date": (today() + timedelta(days=7)).isoformat(),
            "unit_id": world["county_a"].id,
            "assignee_id": world["colleague"].id,
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "new" and body["allowed_actions"] == ["accept", "reassign"]
    assert body["assignee"] == {"id": world["colleague"].id, "name": "李强"}
    assert response.headers["ETag"] == f'"{body["id"]}.1"'
    (event,) = events(db, "issue.created", body["id"])
    assert (event.actor_id, event.enterprise_id) == (staff.id, world["ent_a"].id)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x"}, "category"),
        ({"category": "weather", "title": "x"}, "category"),
        ({"category": "land", "title": ""}, "title"),
        ({"category": "land", "title": "x" * 301}, "title"),
        ({"category": "land", "title": "  "}, "title"),  # the service's rule
        ({"category": "land", "title": "x", "due_date": "2001-01-01"}, "due_date"),
        ({"category": "land", "title": "x", "unit_id": 2**31}, "unit_id"),
        ({"category": "land", "title": "x", "visit_id": 99999}, "visit_id"),
        ({"category": "land", "title": "x", "nonsense": 1}, "nonsense"),
    ],
)
def test_bad_input_is_422_naming_the_field(db, world, api_for, body, field):
    api = api_for(world["staff"])
    response = api.post(f"/api/v1/enterprises/{world['ent_a'].id}/issues", json=body)
    assert response.status_code == 422 and response.content_type == PROBLEM
    assert field in {error["field"] for error in response.get_json(force=True)["errors"]}
    assert count(db, EnterpriseIssue) == 0


def test_unit_outside_the_callers_units_is_refused(db, world, api_for):
    api = api_for(world["staff"])
    response = api.post(
        f"/api/v1/enterprises/{world['ent_a'].id}/issues",
        json={"category": "land", "title": "x", "unit_id": world["county_b"].id},
    )
    assert response.status_code == 422
    assert response.get_json(force=True)["errors"][0]["field"] == "unit_id"


def test_detail_etag_and_patch_with_if_match(db, world, api_for):
    issue = _issue(db, world["ent_a"], world["staff"])
    api = api_for(world["staff"])
    read = api.get(f"/api/v1/issues/{issue.id}")
    assert read.status_code == 200
    etag = read.headers["ETag"]
    assert etag == f'"{issue.id}.{issue.version}"'
    body = read.get_json()
    assert body["steps"] == [] and body["escalations"] == []

    url = f"/api/v1/issues/{issue.id}"
    assert api.patch(url, json={"title": "新标题"}).status_code == 428
    changed = api.patch(url, json={"title": "新标题"}, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["title"] == "新标题"
    assert changed.get_json()["category"] == "land"  # absent fields stay
    stale = api.patch(url, json={"title": "再改"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.content_type == PROBLEM
    db.session.expire_all()
    assert db.session.get(EnterpriseIssue, issue.id).title == "新标题"
    (event,) = events(db, "issue.updated", issue.id)
    assert event.actor_id == world["staff"].id
    assert event.data["changes"] == [{"field": "title", "old": "二期项目用地指标", "new": "新标题"}]


def test_the_whole_workflow_by_steps(db, world, api_for):
    staff = world["staff"]
    issue = _issue(db, world["ent_a"], staff)
    api = api_for(staff)
    url = f"/api/v1/issues/{issue.id}/steps"
    etag = api.get(f"/api/v1/issues/{issue.id}").headers["ETag"]

    def take(body):
        nonlocal etag
        response = api.post(url, json=body, headers={"If-Match": etag})
        assert response.status_code == 200, response.get_data(as_text=True)
        etag = response.headers["ETag"]
        return response.get_json()

    assert take({"action": "accept"})["status"] == "accepted"
    missing = api.post(url, json={"action": "start"}, headers={"If-Match": etag})
    assert missing.status_code == 422
    assert missing.get_json(force=True)["errors"][0]["field"] == "note"
    assert take({"action": "start", "note": "协调国土部门"})["status"] == "in_progress"
    assert take({"action": "resolve", "note": "已调整"})["status"] == "resolved"
    reopened = take({"action": "callback", "satisfaction": 2, "note": "不满意"})
    assert reopened["status"] == "in_progress" and reopened["reopened_count"] == 1
    assert [e["reason"] for e in reopened["escalations"]] == ["reopened"]
    take({"action": "resolve", "note": "再次处理"})
    assert take({"action": "callback", "satisfaction": 5})["status"] == "callback"
    closed = take({"action": "close"})
    assert closed["status"] == "closed" and closed["allowed_actions"] == []

    steps = api.get(url).get_json()
    assert [s["to_status"] for s in steps] == [
        "accepted",
        "in_progress",
        "resolved",
        "in_progress",
        "resolved",
        "callback",
        "closed",
    ]
    assert steps[3]["satisfaction"] == 2 and steps[0]["actor"]["id"] == staff.id
    kinds = events(db, "issue.step", issue.id)
    assert len(kinds) == 7 and {e.actor_id for e in kinds} == {staff.id}


def test_step_not_allowed_now_is_409_and_changes_nothing(db, world, api_for):
    issue = _issue(db, world["ent_a"], world["staff"])
    api = api_for(world["staff"])
    etag = api.get(f"/api/v1/issues/{issue.id}").headers["ETag"]
    url = f"/api/v1/issues/{issue.id}/steps"
    for body in ({"action": "resolve", "note": "x"}, {"action": "callback", "satisfaction": 5}):
        response = api.post(url, json=body, headers={"If-Match": etag})
        assert response.status_code == 409 and response.content_type == PROBLEM
        error = response.get_json(force=True)["errors"][0]
        assert error["field"] == "action" and error["message"]
    assert count(db, IssueStep) == 0
    bad = api.post(url, json={"action": "reopen"}, headers={"If-Match": etag})
    assert bad.status_code == 422
    score = api.post(url, json={"action": "accept", "satisfaction": 9}, headers={"If-Match": etag})
    assert score.status_code == 422
    assert score.get_json(force=True)["errors"][0]["field"] == "satisfaction"


def test_step_needs_a_fresh_if_match(db, world, api_for):
    issue = _issue(db, world["ent_a"], world["staff"])
    api = api_for(world["staff"])
    url = f"/api/v1/issues/{issue.id}/steps"
    etag = api.get(f"/api/v1/issues/{issue.id}").headers["ETag"]
    assert api.post(url, json={"action": "accept"}).status_code == 428
    assert api.post(url, json={"action": "accept"}, headers={"If-Match": etag}).status_code == 200
    stale = api.post(url, json={"action": "start", "note": "x"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    db.session.expire_all()
    assert db.session.get(EnterpriseIssue, issue.id).status == IssueStatus.ACCEPTED


def test_reassign_is_for_managers(db, world, api_for):
    issue = _issue(db, world["ent_a"], world["staff"], assignee=world["staff"])
    url = f"/api/v1/issues/{issue.id}/steps"
    body = {"action": "reassign", "assignee_id": world["colleague"].id, "note": "换人"}
    staff = api_for(world["staff"])
    assert staff.post(url, json=body, headers={"If-Match": "*"}).status_code == 403
    manager = api_for(world["manager"])
    no_reason = manager.post(url, json={**body, "note": ""}, headers={"If-Match": "*"})
    assert no_reason.status_code == 422
    assert no_reason.get_json(force=True)["errors"][0]["field"] == "note"
    done = manager.post(url, json=body, headers={"If-Match": "*"})
    assert done.status_code == 200
    assert done.get_json()["assignee"]["id"] == world["colleague"].id
    (event,) = events(db, "issue.reassigned", issue.id)
    assert event.actor_id == world["manager"].id


def test_scope_and_roles(db, world, api_for):
    issue = _issue(db, world["ent_a"], world["staff"])
    other = api_for(world["other"])
    assert other.get(f"/api/v1/issues/{issue.id}").status_code == 404
    assert other.get(f"/api/v1/issues/{issue.id}/steps").status_code == 404
    # Outside the scope, any body answers 404: not a list of fields to fix.
    assert other.patch(f"/api/v1/issues/{issue.id}", json={"x": 1}).status_code == 404
    assert other.post(f"/api/v1/issues/{issue.id}/steps", json={}).status_code == 404
    assert other.post(f"/api/v1/enterprises/{world['ent_a'].id}/issues", json={}).status_code == 404
    leader = api_for(world["leader"])
    assert leader.get(f"/api/v1/issues/{issue.id}").status_code == 200
    for response in (
        leader.patch(f"/api/v1/issues/{issue.id}", json={"title": "x"}, headers={"If-Match": "*"}),
        leader.post(
            f"/api/v1/issues/{issue.id}/steps", json={"action": "accept"}, headers={"If-Match": "*"}
        ),
        leader.post(
            f"/api/v1/enterprises/{world['ent_a'].id}/issues",
            json={"category": "land", "title": "x"},
        ),
    ):
        assert response.status_code == 403 and response.content_type == PROBLEM
    assert count(db, IssueStep) == 0
