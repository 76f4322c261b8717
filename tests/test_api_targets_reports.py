"""/api/v1/targets and /api/v1/reports: targets with their rates, and the monthly ranking.

The world is test_reports.py's (2025, January–June): 翠屏区 and 南溪区 tie at 0.6,
叙州区 third at 0.15, 江安县 unranked.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

import pytest

from crm.models import ProjectStage, Role, Target
from crm.projects.figures import Period
from crm.projects.services import change_stage
from crm.reports import services as report_services
from tests.test_reports import build_world

PROBLEM = "application/problem+json"


@pytest.fixture
def world(app, db, make_unit, make_enterprise):
    return build_world(app, db, make_unit, make_enterprise)


@pytest.fixture
def people(make_user, world):
    return {
        "admin": make_user(Role.ADMIN, name="管理员", locale="en"),
        "manager": make_user(Role.MANAGER, [world["a"]], name="孙科长", locale="en"),
        "leader": make_user(Role.LEADER, name="赵局长", locale="en"),
        "staff": make_user(Role.STAFF, [world["a"]], name="张敏", locale="en"),
    }


def _unit(body, name):
    return next(row for row in body["units"] if row["unit"]["name"] == name)


# -- targets ---------------------------------------------------------------------------------
def test_targets_with_rates_and_completion(world, people, api_for):
    body = api_for(people["staff"]).get("/api/v1/targets/?year=2025&month=6").get_json()
    assert (body["year"], body["month"]) == (2025, 6)
    a = _unit(body, "翠屏区")
    assert a["kind"] == "county" and a["rank"] == 1
    figures = a["figures"]
    assert figures["signed"] == 2 and figures["target_projects"] == 4
    assert figures["signed_amount_wan"] == "6000.0000"
    assert figures["target_amount_wan"] == "10000.0000"
    assert figures["projects_completion"] == 0.5 and figures["amount_completion"] == 0.6
    assert figures["funds_completion"] == 0.7 and figures["score"] == pytest.approx(0.6)
    assert figures["schedule"] == 0.5 and figures["landing_rate"] == 0.0
    assert _unit(body, "江安县")["rank"] is None
    assert _unit(body, "数字经济专班")["kind"] == "task_force"
    # The staff member's scope: every project of the enterprise in 翠屏区 (all five
    # here), without the city's targets, as their dashboard shows it.
    assert body["scope"]["signed"] == 5 and body["scope"]["target_projects"] is None


def test_scope_figures_of_the_city_for_leaders(world, people, api_for, db):
    change_stage(
        world["a1"],
        actor=None,
        expected_version=world["a1"].version,
        to_stage=ProjectStage.LANDED,
        effective_on=date(2025, 3, 1),
    )
    db.session.commit()
    body = api_for(people["leader"]).get("/api/v1/targets/?year=2025&month=6").get_json()
    scope = body["scope"]
    assert scope["signed"] == 5 and scope["landed"] == 1
    assert scope["landing_rate"] == pytest.approx(0.2)
    assert scope["target_projects"] == 11  # the counties' targets added up


def test_targets_bad_query_422(world, people, api_for):
    api = api_for(people["staff"])
    for query, field in (("year=1999", "year"), ("month=13", "month"), ("year=x", "year")):
        response = api.get(f"/api/v1/targets/?{query}")
        assert response.status_code == 422 and response.content_type == PROBLEM
        assert response.get_json(force=True)["errors"][0]["field"] == field


def test_one_target_read_and_set_by_admins(db, world, people, api_for, caplog):
    d = world["d"]  # 江安县: no target yet
    url = f"/api/v1/targets/2025/{d.id}"
    staff = api_for(people["staff"])
    empty = staff.get(url)
    assert empty.status_code == 200 and "ETag" not in empty.headers
    assert empty.get_json()["new_projects"] is None and empty.get_json()["version"] is None
    assert staff.put(url, json={"new_projects": 3}).status_code == 403
    assert api_for(people["manager"]).put(url, json={}).status_code == 403

    admin = api_for(people["admin"])
    assert admin.put(url, json={"new_projects": -1}).status_code == 422
    too_big = admin.put(url, json={"contract_amount_wan": "9999999999"})
    assert too_big.status_code == 422
    assert too_big.get_json(force=True)["errors"][0]["field"] == "contract_amount_wan"
    with caplog.at_level(logging.INFO, logger="crm.audit"):
        created = admin.put(url, json={"new_projects": 3, "contract_amount_wan": "8000"})
    assert created.status_code == 200, created.get_data(as_text=True)
    assert created.get_json()["contract_amount_wan"] == "8000.0000"
    assert f"user {people['admin'].id}" in caplog.text
    etag = created.headers["ETag"]

    assert admin.put(url, json={"new_projects": 4}).status_code == 428
    changed = admin.put(url, json={"new_projects": 4}, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["new_projects"] == 4
    assert changed.get_json()["contract_amount_wan"] is None  # absent: no target for it
    stale = admin.put(url, json={"new_projects": 9}, headers={"If-Match": etag})
    assert stale.status_code == 412
    db.session.expire_all()
    assert db.session.query(Target).filter_by(unit_id=d.id).one().new_projects == 4
    # Ranked now that it has a target.
    ranked = staff.get("/api/v1/targets/?year=2025&month=6").get_json()
    assert _unit(ranked, "江安县")["rank"] is not None


def test_target_of_a_unit_that_gets_none_404(world, people, api_for, make_unit):
    from crm.models import UnitKind

    park = make_unit("临港园区", UnitKind.PARK)
    api = api_for(people["admin"])
    assert api.get(f"/api/v1/targets/2025/{park.id}").status_code == 404
    assert api.put(f"/api/v1/targets/2025/{park.id}", json={}).status_code == 404
    assert api.get(f"/api/v1/targets/1999/{world['a'].id}").status_code == 404


# -- reports ---------------------------------------------------------------------------------
def test_live_month_then_published_with_corrections(db, world, people, api_for):
    api = api_for(people["staff"])
    live = api.get("/api/v1/reports/2025/6").get_json()
    assert live["published"] is False and live["published_at"] is None
    counties = live["tables"][0]
    assert counties["kind"] == "county"
    assert [(line["unit"]["name"], line["rank"]) for line in counties["lines"]] == [
        ("翠屏区", 1),
        ("南溪区", 1),
        ("叙州区", 3),
        ("江安县", None),
    ]
    assert api.get("/api/v1/reports/").get_json()["items"] == []

    report_services.publish_report(Period(2025, 6), actor=people["manager"], note="六月通报")
    db.session.commit()
    # A correction after publishing: b1's contract amount doubles.
    b1 = world["b1"]
    b1.contract_amount_wan = Decimal("4000")
    db.session.commit()

    listed = api.get("/api/v1/reports/?year=2025").get_json()["items"]
    assert [(r["year"], r["month"], r["note"]) for r in listed] == [(2025, 6, "六月通报")]
    assert listed[0]["published_by"]["id"] == people["manager"].id
    frozen = api.get("/api/v1/reports/2025/6").get_json()
    assert frozen["published"] is True and frozen["note"] == "六月通报"
    b = next(line for line in frozen["tables"][0]["lines"] if line["unit"]["name"] == "叙州区")
    assert b["figures"]["signed_amount_wan"] == "2000.0000"  # as published
    changes = {change["figure"]: change for change in b["changes"]}
    assert changes["signed_amount_wan"]["published"] == "2000.0000"
    assert changes["signed_amount_wan"]["now"] == "4000.0000"
    assert changes["amount_completion"]["now"] == pytest.approx(0.2)


def test_reports_list_pages_and_filters(db, world, people, api_for):
    for month in (1, 2, 3):
        report_services.publish_report(Period(2025, month), actor=people["manager"])
    db.session.commit()
    api = api_for(people["leader"])
    first = api.get("/api/v1/reports/?limit=2").get_json()
    assert [r["month"] for r in first["items"]] == [1, 2]
    rest = api.get(f"/api/v1/reports/?limit=2&cursor={first['next_cursor']}").get_json()
    assert [r["month"] for r in rest["items"]] == [3] and rest["next_cursor"] is None
    assert api.get("/api/v1/reports/?year=2024").get_json()["items"] == []
    assert api.get("/api/v1/reports/?year=20250").status_code == 422


def test_month_that_does_not_exist_or_has_not_begun_404(world, people, api_for):
    api = api_for(people["staff"])
    assert api.get("/api/v1/reports/2025/13").status_code == 404
    assert api.get("/api/v1/reports/2999/1").status_code == 404
    assert api.get("/api/v1/reports/2025/0").status_code == 404


def test_reports_need_a_token(client, world):
    assert client.get("/api/v1/reports/").status_code == 401
    assert client.get("/api/v1/targets/").status_code == 401
