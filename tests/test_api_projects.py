"""/api/v1/projects: projects, their stage changes and funds in place through the API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from crm.models import (
    AttractionChannel,
    FundsEntry,
    Project,
    ProjectStage,
    ProjectStageChange,
    UnitKind,
)
from crm.projects import services as project_services
from tests.helpers import count, events, today, two_counties

PROBLEM = "application/problem+json"


@pytest.fixture
def world(db, make_unit, make_user, make_enterprise):
    people = two_counties(make_unit, make_user, manager=True)
    return {
        **people,
        "task_force": make_unit("数字经济专班", UnitKind.TASK_FORCE),
        "ent_a": make_enterprise("宜宾新能源有限公司", units=[people["county_a"]]),
        "ent_b": make_enterprise("南溪食品有限公司", units=[people["county_b"]]),
    }


def _project(db, world, name="锂电池二期", enterprise=None, **fields):
    fields.setdefault("county", world["county_a"])
    project = project_services.create_project(
        enterprise or world["ent_a"], actor=world["staff"], name=name, **fields
    )
    db.session.commit()
    return project


def _signed(db, world, **fields):
    return _project(
        db,
        world,
        stage=ProjectStage.SIGNED,
        stage_on=today() - timedelta(days=10),
        contract_amount_wan=Decimal("20000"),
        **fields,
    )


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()["items"]]


def _errors(response) -> set[str]:
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    return {error["field"] for error in response.get_json(force=True)["errors"]}


def test_list_filters_search_scope_and_cursor(db, world, api_for):
    made = [_project(db, world, name=f"项目{i}").id for i in range(4)]
    key = _project(
        db,
        world,
        name="光伏组件基地",
        name_en="PV module base",
        contract_amount_wan=Decimal("150000"),
        task_force=world["task_force"],
        channel=AttractionChannel.FUND,
    )
    signed = _signed(db, world, name="储能电站")
    other = _project(
        db, world, name="别处项目", enterprise=world["ent_b"], county=world["county_b"]
    )
    api = api_for(world["staff"])

    seen, cursor = [], None
    while True:
        body = api.get("/api/v1/projects/?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        seen += _ids(body)
        cursor = body.get_json()["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted([*made, key.id, signed.id]) and other.id not in seen

    assert _ids(api.get("/api/v1/projects/?key=true")) == [key.id]
    assert _ids(api.get("/api/v1/projects/?stage=signed")) == [signed.id]
    assert _ids(api.get(f"/api/v1/projects/?task_force_id={world['task_force'].id}")) == [key.id]
    assert _ids(api.get("/api/v1/projects/?channel=fund")) == [key.id]
    assert _ids(api.get("/api/v1/projects/?q=光伏")) == [key.id]
    assert _ids(api.get("/api/v1/projects/?q=module")) == [key.id]
    assert len(_ids(api.get(f"/api/v1/projects/?county_id={world['county_a'].id}"))) == 6
    assert _ids(api.get(f"/api/v1/enterprises/{world['ent_a'].id}/projects?stage=signed")) == [
        signed.id
    ]
    assert api.get(f"/api/v1/projects/{other.id}").status_code == 404
    assert api.get(f"/api/v1/enterprises/{world['ent_b'].id}/projects").status_code == 404
    assert _errors(api.get("/api/v1/projects/?stage=dreaming")) == {"stage"}


def test_create_records_in_the_file(db, world, api_for):
    api = api_for(world["staff"])
    response = api.post(
        f"/api/v1/enterprises/{world['ent_a'].id}/projects",
        json={
            "name": "正极材料项目",
            "stage": "signed",
            "stage_on": (today() - timedelta(days=3)).isoformat(),
            "contract_amount_wan": "120000.5",
            "county_id": world["county_a"].id,
            "task_force_id": world["task_force"].id,
            "channel": "industry_chain",
            "public_fields": ["industry"],
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["stage"] == "signed" and body["is_key"] is True
    assert body["contract_amount_wan"] == "120000.5000"
    assert body["county"]["id"] == world["county_a"].id
    assert body["funds_in_place_wan"] == "0.0000" and body["funds_rate"] == 0
    assert [c["to_stage"] for c in body["stage_changes"]] == ["signed"]
    assert response.headers["ETag"] == f'"{body["id"]}.1"'
    (event,) = events(db, "project.created", body["id"])
    assert (event.actor_id, event.enterprise_id) == (world["staff"].id, world["ent_a"].id)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "contract_amount_wan": 1200}, "contract_amount_wan"),  # a number: inexact
        ({"name": "x", "contract_amount_wan": "1.23456"}, "contract_amount_wan"),
        ({"name": "x", "contract_amount_wan": "-5"}, "contract_amount_wan"),
        ({"name": "x", "contract_amount_wan": "9999999999"}, "contract_amount_wan"),
        ({"name": "x", "contract_amount_wan": "NaN"}, "contract_amount_wan"),
        ({"name": "x", "stage": "terminated"}, "stage"),
        ({"name": "x", "stage_on": "2999-01-01"}, "stage_on"),
        ({"name": "x", "committed_jobs": 2**40}, "committed_jobs"),
        ({"name": "x", "channel": "magic"}, "channel"),
        ({"name": "x", "public_fields": ["secret"]}, "public_fields.0"),
        ({"name": "x", "outbound_role": "signing"}, "outbound_office_id"),
        ({"name": "x", "county_id": 99999}, "county_id"),
        ({"name": "x", "stage": "reserve", "is_key": True}, "is_key"),
    ],
)
def test_create_bad_input_422_naming_the_field(db, world, api_for, body, field):
    api = api_for(world["staff"])
    response = api.post(f"/api/v1/enterprises/{world['ent_a'].id}/projects", json=body)
    assert field in _errors(response)
    assert count(db, Project) == 0


def test_unit_of_the_wrong_kind_names_the_id_field(db, world, api_for):
    api = api_for(world["staff"])
    response = api.post(
        f"/api/v1/enterprises/{world['ent_a'].id}/projects",
        json={"name": "x", "county_id": world["task_force"].id},
    )
    assert _errors(response) == {"county_id"}


def test_duplicate_platform_number_409(db, world, api_for):
    _project(db, world, platform_number="YB-2026-001")
    api = api_for(world["staff"])
    response = api.post(
        f"/api/v1/enterprises/{world['ent_a'].id}/projects",
        json={"name": "x", "platform_number": "YB-2026-001"},
    )
    assert response.status_code == 409 and response.content_type == PROBLEM


def test_patch_needs_if_match_and_records_the_change(db, world, api_for):
    project = _project(db, world)
    api = api_for(world["staff"])
    url = f"/api/v1/projects/{project.id}"
    etag = api.get(url).headers["ETag"]
    assert api.patch(url, json={"name": "新名"}).status_code == 428
    changed = api.patch(
        url, json={"contract_amount_wan": "30000", "name": "新名"}, headers={"If-Match": etag}
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["contract_amount_wan"] == "30000.0000"
    stale = api.patch(url, json={"name": "再改"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.content_type == PROBLEM
    db.session.expire_all()
    assert db.session.get(Project, project.id).name == "新名"
    (event,) = events(db, "project.updated", project.id)
    assert event.actor_id == world["staff"].id
    assert {c["field"] for c in event.data["changes"]} == {"name", "contract_amount_wan"}
    assert _errors(api.patch(url, json={"stage": "signed"}, headers={"If-Match": "*"})) == {"stage"}


def test_delete_is_for_managers_and_soft(db, world, api_for):
    project = _project(db, world)
    url = f"/api/v1/projects/{project.id}"
    assert api_for(world["staff"]).delete(url, headers={"If-Match": "*"}).status_code == 403
    manager = api_for(world["manager"])
    assert manager.delete(url).status_code == 428
    assert manager.delete(url, headers={"If-Match": "*"}).status_code == 204
    assert manager.get(url).status_code == 404
    db.session.expire_all()
    assert db.session.get(Project, project.id).deleted_at is not None
    (event,) = events(db, "project.deleted", project.id)
    assert event.actor_id == world["manager"].id


def test_stage_changes_follow_the_ui_rules(db, world, api_for):
    project = _signed(db, world)
    api = api_for(world["staff"])
    url = f"/api/v1/projects/{project.id}/stage-changes"
    etag = api.get(f"/api/v1/projects/{project.id}").headers["ETag"]
    day = (today() - timedelta(days=2)).isoformat()

    assert api.post(url, json={"to_stage": "landed", "effective_on": day}).status_code == 428
    skip = api.post(
        url, json={"to_stage": "producing", "effective_on": day}, headers={"If-Match": etag}
    )
    assert _errors(skip) == {"reason"}
    future = api.post(
        url,
        json={"to_stage": "landed", "effective_on": (today() + timedelta(days=1)).isoformat()},
        headers={"If-Match": etag},
    )
    assert _errors(future) == {"effective_on"}
    before = api.post(
        url,
        json={"to_stage": "landed", "effective_on": (today() - timedelta(days=30)).isoformat()},
        headers={"If-Match": etag},
    )
    assert _errors(before) == {"effective_on"}
    assert _errors(api.post(url, json={"to_stage": "landed"}, headers={"If-Match": etag})) == {
        "effective_on"
    }

    moved = api.post(
        url, json={"to_stage": "landed", "effective_on": day}, headers={"If-Match": etag}
    )
    assert moved.status_code == 200, moved.get_data(as_text=True)
    body = moved.get_json()
    assert body["stage"] == "landed" and body["landed_on"] == day
    assert moved.headers["ETag"] != etag
    stale = api.post(
        url,
        json={"to_stage": "started", "effective_on": day},
        headers={"If-Match": etag},
    )
    assert stale.status_code == 412
    ended = api.post(
        url,
        json={"to_stage": "terminated", "effective_on": day, "reason": "企业战略调整"},
        headers={"If-Match": moved.headers["ETag"]},
    )
    assert ended.status_code == 200 and ended.get_json()["termination_reason"] == "企业战略调整"

    history = api.get(url).get_json()
    assert [h["to_stage"] for h in history] == ["terminated", "landed", "signed"]
    assert history[0]["recorded_by"]["id"] == world["staff"].id
    assert count(db, ProjectStageChange) == 3
    moves = events(db, "project.stage_changed", project.id)
    assert [e.data["to_stage"] for e in moves] == ["landed", "terminated"]
    assert {e.actor_id for e in moves} == {world["staff"].id}


def test_funds_and_corrections(db, world, api_for):
    project = _signed(db, world)
    api = api_for(world["staff"])
    url = f"/api/v1/projects/{project.id}/funds"
    month = today().strftime("%Y-%m")

    first = api.post(
        url, json={"month": month, "source": "outside_province", "amount_wan": "1200.5"}
    )
    assert first.status_code == 201, first.get_data(as_text=True)
    entry = first.get_json()
    assert entry["month"] == month and entry["amount_wan"] == "1200.5000"

    assert _errors(api.post(url, json={"month": month, "amount_wan": "5"})) == {"source"}
    assert _errors(
        api.post(url, json={"month": "2026-13", "source": "within_city", "amount_wan": "5"})
    ) == {"month"}
    assert _errors(
        api.post(url, json={"month": month, "source": "within_city", "amount_wan": "-5"})
    ) == {"amount_wan"}
    no_note = api.post(url, json={"corrects_id": entry["id"], "amount_wan": "-200"})
    assert _errors(no_note) == {"note"}
    other = _signed(db, world, name="另一个项目")
    foreign = project_services.record_funds(
        other,
        actor=None,
        month=today(),
        source="within_city",
        amount_wan=Decimal("10"),
    )
    db.session.commit()
    assert _errors(
        api.post(url, json={"corrects_id": foreign.id, "amount_wan": "-1", "note": "x"})
    ) == {"corrects_id"}

    fix = api.post(url, json={"corrects_id": entry["id"], "amount_wan": "-200", "note": "多报"})
    assert fix.status_code == 201, fix.get_data(as_text=True)
    fixed = fix.get_json()
    assert fixed["corrects_id"] == entry["id"] and fixed["source"] == "outside_province"
    listed = api.get(url).get_json()
    assert {e["id"] for e in listed} == {entry["id"], fixed["id"]}
    detail = api.get(f"/api/v1/projects/{project.id}").get_json()
    assert detail["funds_in_place_wan"] == "1000.5000"
    assert detail["funds_rate"] == pytest.approx(1000.5 / 20000)
    kinds = [e.kind for e in events(db, "project.funds_recorded", project.id)] + [
        e.kind for e in events(db, "project.funds_corrected", project.id)
    ]
    assert kinds == ["project.funds_recorded", "project.funds_corrected"]
    # Funds do not change the project's version: an open edit stays valid.
    assert detail["version"] == 1


def test_funds_only_for_signed_projects(db, world, api_for):
    project = _project(db, world)
    response = api_for(world["staff"]).post(
        f"/api/v1/projects/{project.id}/funds",
        json={"month": today().strftime("%Y-%m"), "source": "within_city", "amount_wan": "5"},
    )
    assert _errors(response) == {"amount_wan"}
    assert count(db, FundsEntry) == 0


def test_scope_and_readers(db, world, api_for):
    project = _signed(db, world)
    other = api_for(world["other"])
    for path in ("", "/stage-changes", "/funds"):
        assert other.get(f"/api/v1/projects/{project.id}{path}").status_code == 404
    assert other.post(f"/api/v1/projects/{project.id}/funds", json={}).status_code == 404
    assert other.post(f"/api/v1/projects/{project.id}/stage-changes", json={}).status_code == 404
    assert other.patch(f"/api/v1/projects/{project.id}", json={"x": 1}).status_code == 404
    leader = api_for(world["leader"])
    assert leader.get(f"/api/v1/projects/{project.id}").status_code == 200
    for response in (
        leader.patch(
            f"/api/v1/projects/{project.id}", json={"name": "x"}, headers={"If-Match": "*"}
        ),
        leader.post(
            f"/api/v1/projects/{project.id}/stage-changes",
            json={"to_stage": "landed", "effective_on": today().isoformat()},
            headers={"If-Match": "*"},
        ),
        leader.post(
            f"/api/v1/projects/{project.id}/funds",
            json={"month": today().strftime("%Y-%m"), "source": "within_city", "amount_wan": "1"},
        ),
        leader.post(f"/api/v1/enterprises/{world['ent_a'].id}/projects", json={"name": "x"}),
    ):
        assert response.status_code == 403 and response.content_type == PROBLEM
    assert count(db, FundsEntry) == 0


def test_task_force_sees_a_project_attached_to_it(db, world, make_user, api_for):
    from crm.models import Role

    project = _project(db, world, task_force=world["task_force"])
    member = make_user(Role.STAFF, [world["task_force"]])
    api = api_for(member)
    assert _ids(api.get("/api/v1/projects/")) == [project.id]
    assert api.get(f"/api/v1/projects/{project.id}").status_code == 200
