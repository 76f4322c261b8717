"""Logging, editing and deleting visits and events."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.models import (
    Contact,
    Flag,
    FollowUp,
    TimelineEvent,
    Visit,
    VisitKind,
)
from crm.visits import services
from tests.helpers import count, events, today, two_counties


@pytest.fixture
def world(db, make_unit, make_user, make_enterprise):
    """Two counties, each with staff and an enterprise; a leader over everything."""
    people = two_counties(make_unit, make_user)
    enterprise = make_enterprise(
        "宜宾新能源有限公司", units=[people["county_a"]], responsible=people["staff"]
    )
    foreign = make_enterprise(
        "南溪食品有限公司", units=[people["county_b"]], responsible=people["other"]
    )
    main = Contact(enterprise_id=enterprise.id, name="陈总", title="总经理", is_main=True)
    deputy = Contact(enterprise_id=enterprise.id, name="刘工", title="副总")
    stranger = Contact(enterprise_id=foreign.id, name="周经理")
    db.session.add_all([main, deputy, stranger])
    db.session.commit()
    return {
        **people,
        "enterprise": enterprise,
        "foreign": foreign,
        "main": main,
        "deputy": deputy,
        "stranger": stranger,
    }


def counts(db) -> tuple[int, int, int]:
    return count(db, Visit), count(db, FollowUp), count(db, TimelineEvent)


def visit_form(**overrides) -> dict:
    data = {
        "kind": VisitKind.DOOR_KNOCKING.value,
        "visit_date": today().isoformat(),
        "place": "",
        "summary": "谈了扩产计划，企业希望解决用电问题。",
        "concerns": "",
        "flag": Flag.NONE.value,
    }
    data.update(overrides)
    return data


def log_directly(db, world, **fields) -> Visit:
    values = {
        "kind": VisitKind.DOOR_KNOCKING,
        "visit_date": today(),
        "summary": "初次拜访",
        "participants": [world["staff"]],
        "contacts_met": [world["main"]],
    }
    values.update(fields)
    visit = services.log_visit(world["enterprise"], actor=world["staff"], **values)
    db.session.commit()
    return visit


# -- logging ---------------------------------------------------------------------------
def test_new_form_preselects_the_actor(client, login, world):
    login(world["staff"])
    ent = world["enterprise"]
    response = client.get(f"/enterprises/{ent.id}/visits/new")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    participants = re.search(r'<select[^>]*name="participants".*?</select>', html, re.S).group(0)
    assert re.search(rf'<option selected value="{world["staff"].id}">', participants)
    assert f'value="{world["colleague"].id}">' in participants
    contacts = re.search(r'<select[^>]*name="contacts_met".*?</select>', html, re.S).group(0)
    assert "陈总" in contacts and "刘工" in contacts
    assert "周经理" not in contacts  # another enterprise's contact is not offered


def test_log_visit_with_participants_contacts_and_next_step(client, login, db, world):
    login(world["staff"])
    ent = world["enterprise"]
    visit_day = today() - timedelta(days=2)
    due = today() + timedelta(days=5)
    response = client.post(
        f"/enterprises/{ent.id}/visits/new",
        data=visit_form(
            kind=VisitKind.LEADER_TRIP.value,
            visit_date=visit_day.isoformat(),
            place="宜宾市三江口",
            summary="与企业高层座谈，企业计划二期扩产。",
            concerns="二期用地指标不足",
            flag=Flag.RED.value,
            participants=[world["staff"].id, world["colleague"].id],
            contacts_met=[world["main"].id, world["deputy"].id],
            next_step_title="协调自然资源局落实用地",
            next_step_due=due.isoformat(),
            next_step_owner=world["colleague"].id,
        ),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enterprises/{ent.id}")

    visit = db.session.execute(select(Visit)).scalar_one()
    assert visit.enterprise_id == ent.id
    assert visit.kind == VisitKind.LEADER_TRIP
    assert visit.visit_date == visit_day
    assert visit.place == "宜宾市三江口"
    assert visit.concerns == "二期用地指标不足"
    assert visit.flag == Flag.RED
    assert visit.created_by_id == world["staff"].id
    assert sorted(u.name for u in visit.participants) == ["张敏", "李强"]
    assert sorted(c.name for c in visit.contacts_met) == ["刘工", "陈总"]

    follow_up = db.session.execute(select(FollowUp)).scalar_one()
    assert follow_up.visit_id == visit.id
    assert follow_up.enterprise_id == ent.id
    assert follow_up.title == "协调自然资源局落实用地"
    assert follow_up.due_date == due
    assert follow_up.owner_id == world["colleague"].id
    assert follow_up.status.value == "open"

    (logged,) = events(db, "visit.logged")
    assert logged.enterprise_id == ent.id
    assert logged.subject_type == "visit" and logged.subject_id == visit.id
    assert logged.actor_id == world["staff"].id
    # Noon in Asia/Shanghai is 04:00 UTC on the visit date.
    assert logged.occurred_at == datetime(
        visit_day.year, visit_day.month, visit_day.day, 4, 0, tzinfo=UTC
    )
    data = logged.data
    assert data["title"] == "宜宾市三江口"
    assert data["kind"] == "leader_trip"
    assert data["flag"] == "red"
    assert data["text"] == "与企业高层座谈，企业计划二期扩产。"
    assert data["concerns"] == "二期用地指标不足"
    assert sorted(data["participants"]) == ["张敏", "李强"]
    assert sorted(data["contacts_met"]) == ["刘工", "陈总"]
    assert data["enum"] == {"kind": "VisitKind", "flag": "Flag"}

    (created,) = events(db, "follow_up.created")
    assert created.subject_type == "follow_up" and created.subject_id == follow_up.id
    assert created.data["title"] == "协调自然资源局落实用地"
    assert created.data["due_date"] == due.isoformat()
    assert created.data["visit_id"] == visit.id


def test_title_is_the_summary_start_without_a_place_and_owner_defaults_to_actor(
    client, login, db, world
):
    login(world["staff"])
    summary = "企" * 80
    response = client.post(
        f"/enterprises/{world['enterprise'].id}/visits/new",
        data=visit_form(
            summary=summary,
            next_step_title="寄送政策汇编",
            next_step_due=today().isoformat(),
            next_step_owner="",
        ),
    )
    assert response.status_code == 302
    (logged,) = events(db, "visit.logged")
    assert logged.data["title"].startswith("企" * 50)
    assert len(logged.data["title"]) <= 60
    follow_up = db.session.execute(select(FollowUp)).scalar_one()
    assert follow_up.owner_id == world["staff"].id


def test_visit_without_next_step_creates_no_follow_up(client, login, db, world):
    login(world["staff"])
    response = client.post(f"/enterprises/{world['enterprise'].id}/visits/new", data=visit_form())
    assert response.status_code == 302
    assert counts(db)[:2] == (1, 0)
    assert events(db, "follow_up.created") == []


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"summary": "  "}, "summary", "This field is required."),
        ({"visit_date": "2024-13-45"}, "visit_date", "Enter a valid date, e.g. 2024-05-31."),
        ({"visit_date": "yesterday"}, "visit_date", "Enter a valid date, e.g. 2024-05-31."),
        ({"visit_date": ""}, "visit_date", "This field is required."),
        (
            {"next_step_title": "回访"},
            "next_step_due",
            "Give the next step a due date.",
        ),
        (
            {"next_step_due": "__future__"},
            "next_step_title",
            "Describe the next step.",
        ),
        (
            {"next_step_title": "回访", "next_step_due": "__past__"},
            "next_step_due",
            "The due date cannot be in the past.",
        ),
        (
            {"visit_date": "__far_future__"},
            "visit_date",
            "The date cannot be more than one day in the future.",
        ),
    ],
)
def test_invalid_visit_is_not_saved(client, login, db, world, overrides, field, message):
    substitutes = {
        "__future__": (today() + timedelta(days=3)).isoformat(),
        "__past__": (today() - timedelta(days=1)).isoformat(),
        "__far_future__": (today() + timedelta(days=2)).isoformat(),
    }
    overrides = {k: substitutes.get(v, v) for k, v in overrides.items()}
    login(world["staff"])
    before = counts(db)
    response = client.post(
        f"/enterprises/{world['enterprise'].id}/visits/new", data=visit_form(**overrides)
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    # The message sits right under the field it concerns.
    pattern = rf'name="{field}".*?<div class="invalid-feedback d-block" role="alert">{re.escape(message)}</div>'
    assert re.search(pattern, html, re.S), html[:3000]
    assert counts(db) == before


def test_tomorrow_is_accepted(client, login, db, world):
    login(world["staff"])
    response = client.post(
        f"/enterprises/{world['enterprise'].id}/visits/new",
        data=visit_form(visit_date=(today() + timedelta(days=1)).isoformat()),
    )
    assert response.status_code == 302
    assert count(db, Visit) == 1


def test_contacts_of_another_enterprise_cannot_be_chosen(client, login, db, world):
    login(world["staff"])
    before = counts(db)
    response = client.post(
        f"/enterprises/{world['enterprise'].id}/visits/new",
        data=visit_form(contacts_met=[world["main"].id, world["stranger"].id]),
    )
    assert response.status_code == 400
    assert "is not a valid choice" in response.get_data(as_text=True)
    assert counts(db) == before


def test_service_refuses_foreign_and_deleted_contacts(app, db, world):
    from crm.errors import ServiceError

    # ServiceError renders its (lazily translated) message, which needs a request.
    with app.test_request_context(), pytest.raises(ServiceError) as caught:
        services.log_visit(
            world["enterprise"],
            actor=world["staff"],
            kind=VisitKind.CALL,
            visit_date=today(),
            summary="电话沟通",
            contacts_met=[world["stranger"]],
        )
    assert caught.value.field == "contacts_met"
    db.session.rollback()
    deputy = db.session.get(Contact, world["deputy"].id)
    deputy.deleted_at = datetime.now(UTC)
    db.session.commit()
    with app.test_request_context(), pytest.raises(ServiceError):
        services.log_visit(
            world["enterprise"],
            actor=world["staff"],
            kind=VisitKind.CALL,
            visit_date=today(),
            summary="电话沟通",
            contacts_met=[deputy],
        )
    db.session.rollback()
    assert count(db, Visit) == 0


def test_deleted_contacts_are_not_offered(client, login, db, world):
    deputy = db.session.get(Contact, world["deputy"].id)
    deputy.deleted_at = datetime.now(UTC)
    db.session.commit()
    login(world["staff"])
    html = client.get(f"/enterprises/{world['enterprise'].id}/visits/new").get_data(as_text=True)
    assert "陈总" in html
    assert "刘工" not in html


# -- detail, edit, delete ------------------------------------------------------------------
def test_detail_shows_the_visit(client, login, db, world):
    visit = log_directly(
        db,
        world,
        place="企业会议室",
        concerns="融资难",
        flag=Flag.YELLOW,
        next_step_title="对接银行",
        next_step_due=today() + timedelta(days=7),
    )
    login(world["staff"])
    response = client.get(f"/visits/{visit.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for text in ("企业会议室", "融资难", "张敏", "陈总", "对接银行", "Door-knocking visit"):
        assert text in html
    assert f"/enterprises/{world['enterprise'].id}/issues/new?visit_id={visit.id}" in html


def test_edit_records_changes_with_names(client, login, db, world):
    visit = log_directly(db, world)
    login(world["staff"])
    assert client.get(f"/visits/{visit.id}/edit").status_code == 200
    response = client.post(
        f"/visits/{visit.id}/edit",
        data=visit_form(
            summary="初次拜访",
            place="工地",
            flag=Flag.RED.value,
            participants=[world["staff"].id, world["colleague"].id],
            contacts_met=[world["deputy"].id],
            version=visit.version,
        ),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enterprises/{world['enterprise'].id}")
    db.session.expire_all()
    visit = db.session.get(Visit, visit.id)
    assert visit.place == "工地"
    assert visit.flag == Flag.RED
    assert visit.version == 2
    (updated,) = events(db, "visit.updated")
    changes = {c["field"]: (c["old"], c["new"]) for c in updated.data["changes"]}
    assert changes["place"] == (None, "工地")
    assert changes["flag"] == ("none", "red")
    assert changes["participants"] == (["张敏"], ["张敏", "李强"])
    assert changes["contacts_met"] == (["陈总"], ["刘工"])
    assert "summary" not in changes
    assert updated.data["enum"] == {"kind": "VisitKind", "flag": "Flag"}


def test_changing_only_participants_bumps_the_version(client, login, db, world):
    visit = log_directly(db, world)
    login(world["staff"])
    response = client.post(
        f"/visits/{visit.id}/edit",
        data=visit_form(
            summary="初次拜访",
            participants=[world["colleague"].id],
            contacts_met=[world["main"].id],
            version=1,
        ),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).version == 2


def test_stale_edit_is_refused_with_409(client, login, db, world):
    visit = log_directly(db, world)
    login(world["staff"])
    first = visit_form(summary="第一次修改", participants=[world["staff"].id], version=1)
    assert client.post(f"/visits/{visit.id}/edit", data=first).status_code == 302
    second = visit_form(summary="第二次修改", participants=[world["staff"].id], version=1)
    response = client.post(f"/visits/{visit.id}/edit", data=second)
    assert response.status_code == 409
    assert "This record was changed by someone else" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).summary == "第一次修改"
    assert len(events(db, "visit.updated")) == 1


def test_edit_without_changes_records_nothing(client, login, db, world):
    visit = log_directly(db, world)
    login(world["staff"])
    response = client.post(
        f"/visits/{visit.id}/edit",
        data=visit_form(
            summary="初次拜访",
            participants=[world["staff"].id],
            contacts_met=[world["main"].id],
            version=1,
        ),
    )
    assert response.status_code == 302
    assert events(db, "visit.updated") == []


def test_soft_delete_hides_the_visit(client, login, db, world):
    visit = log_directly(db, world)
    login(world["staff"])
    response = client.post(f"/visits/{visit.id}/delete")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enterprises/{world['enterprise'].id}")
    db.session.expire_all()
    row = db.session.get(Visit, visit.id)
    assert row is not None and row.deleted_at is not None
    assert row.deleted_by_id == world["staff"].id
    (deleted,) = events(db, "visit.deleted")
    assert deleted.subject_id == visit.id
    assert client.get(f"/visits/{visit.id}").status_code == 404
    assert client.get(f"/visits/{visit.id}/edit").status_code == 404
    assert client.post(f"/visits/{visit.id}/delete").status_code == 404


# -- access ----------------------------------------------------------------------------
def test_other_units_staff_gets_404(client, switch, db, world):
    visit = log_directly(db, world)
    switch(world["other"])
    ent = world["enterprise"]
    assert client.get(f"/enterprises/{ent.id}/visits/new").status_code == 404
    assert client.post(f"/enterprises/{ent.id}/visits/new", data=visit_form()).status_code == 404
    assert client.get(f"/visits/{visit.id}").status_code == 404
    assert client.get(f"/visits/{visit.id}/edit").status_code == 404
    assert client.post(f"/visits/{visit.id}/delete").status_code == 404
    assert count(db, Visit) == 1


def test_leader_reads_but_may_not_change(client, switch, db, world):
    visit = log_directly(db, world)
    switch(world["leader"])
    ent = world["enterprise"]
    response = client.get(f"/visits/{visit.id}")
    assert response.status_code == 200
    assert f"/visits/{visit.id}/edit" not in response.get_data(as_text=True)
    assert client.post(f"/enterprises/{ent.id}/visits/new", data=visit_form()).status_code == 403
    edit = visit_form(summary="改", version=1)
    assert client.post(f"/visits/{visit.id}/edit", data=edit).status_code == 403
    assert client.post(f"/visits/{visit.id}/delete").status_code == 403
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).deleted_at is None
    assert count(db, Visit) == 1


def test_anonymous_is_sent_to_sign_in(client, db, world):
    response = client.get(f"/enterprises/{world['enterprise'].id}/visits/new")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_correcting_the_date_moves_the_visit_in_the_file(client, login, db, world):
    visit = log_directly(db, world)
    login(world["staff"])
    earlier = today() - timedelta(days=10)
    response = client.post(
        f"/visits/{visit.id}/edit",
        data=visit_form(
            summary="初次拜访",
            visit_date=earlier.isoformat(),
            participants=[world["staff"].id],
            contacts_met=[world["main"].id],
            version=1,
        ),
    )
    assert response.status_code == 302
    db.session.expire_all()
    (logged,) = events(db, "visit.logged")
    assert logged.occurred_at == datetime(earlier.year, earlier.month, earlier.day, 4, tzinfo=UTC)
    (updated,) = events(db, "visit.updated")
    assert updated.data["changes"] == [
        {"field": "visit_date", "old": today().isoformat(), "new": earlier.isoformat()}
    ]
