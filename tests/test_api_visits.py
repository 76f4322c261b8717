"""Visits of the JSON API: logged through the visit service (next step → follow-up),
recorded in the file as from the visit form, scoped and guarded like the pages."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm.models import FollowUp, Visit
from tests.helpers import count, events, today, two_counties

PROBLEM = "application/problem+json"


def _world(make_unit, make_user, make_enterprise):
    people = two_counties(make_unit, make_user, manager=True)
    people["ent_a"] = make_enterprise(
        "宜宾新能源有限公司", units=[people["county_a"]], responsible=people["staff"]
    )
    people["ent_b"] = make_enterprise("南溪食品有限公司", units=[people["county_b"]])
    return people


def _url(enterprise) -> str:
    return f"/api/v1/enterprises/{enterprise.id}/visits"


def _contact(api, enterprise, name="王经理") -> int:
    response = api.post(f"/api/v1/enterprises/{enterprise.id}/contacts", json={"name": name})
    assert response.status_code == 201
    return response.get_json()["id"]


def _visit(**extra) -> dict:
    return {
        "kind": "door_knocking",
        "visit_date": today().isoformat(),
        "summary": "谈二期扩产用地",
        **extra,
    }


def test_log_with_contacts_participants_and_next_step(
    db, make_unit, make_user, make_enterprise, api_for, client, login
):
    w = _world(make_unit, make_user, make_enterprise)
    api = api_for(w["staff"])
    contact_id = _contact(api, w["ent_a"])
    due = today() + timedelta(days=7)
    response = api.post(
        _url(w["ent_a"]),
        json=_visit(
            place="公司会议室",
            concerns="用电指标不足",
            flag="red",
            participant_ids=[w["staff"].id, w["colleague"].id],
            contact_ids=[contact_id],
            next_step_title="报送用电需求",
            next_step_due=due.isoformat(),
            next_step_owner_id=w["colleague"].id,
        ),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["flag"] == "red" and body["kind"] == "door_knocking"
    assert {p["name"] for p in body["participants"]} == {"张敏", "李强"}
    assert body["contacts_met"] == [{"id": contact_id, "name": "王经理"}]
    assert body["created_by"] == {"id": w["staff"].id, "name": "张敏"}
    (follow_up,) = body["follow_ups"]
    assert follow_up["title"] == "报送用电需求" and follow_up["due_date"] == due.isoformat()
    assert follow_up["owner"] == {"id": w["colleague"].id, "name": "李强"}

    (logged,) = events(db, "visit.logged")
    assert (logged.actor_id, logged.subject_id) == (w["staff"].id, body["id"])
    assert logged.data["contacts_met"] == ["王经理"] and logged.data["flag"] == "red"
    (planned,) = events(db, "follow_up.created")
    assert planned.data["visit_id"] == body["id"] and planned.data["owner"] == "李强"
    login(w["staff"])
    html = client.get(f"/enterprises/{w['ent_a'].id}").get_data(as_text=True)
    assert "Visit logged" in html and "Follow-up planned" in html and "报送用电需求" in html


def test_participants_default_to_the_caller_as_on_the_form(
    make_unit, make_user, make_enterprise, api_for
):
    w = _world(make_unit, make_user, make_enterprise)
    body = api_for(w["staff"]).post(_url(w["ent_a"]), json=_visit()).get_json()
    assert body["participants"] == [{"id": w["staff"].id, "name": "张敏"}]
    assert body["follow_ups"] == []


def test_validation_is_422_naming_the_field(db, make_unit, make_user, make_enterprise, api_for):
    w = _world(make_unit, make_user, make_enterprise)
    api = api_for(w["staff"])
    other_contact = _contact(api_for(w["other"]), w["ent_b"], "南溪的人")
    future = (today() + timedelta(days=5)).isoformat()
    past = (today() - timedelta(days=1)).isoformat()
    cases = [
        ({}, "kind"),
        (_visit(kind="picnic"), "kind"),
        (_visit(flag="blue"), "flag"),
        (_visit(visit_date="yesterday"), "visit_date"),
        (_visit(visit_date=future), "visit_date"),
        (_visit(summary="   "), "summary"),
        (_visit(summary="x" * 20001), "summary"),
        (_visit(contact_ids=[other_contact]), "contact_ids"),
        (_visit(contact_ids=[999_999]), "contact_ids"),
        (_visit(participant_ids=[999_999]), "participant_ids"),
        (_visit(participant_ids=[2**40]), "participant_ids.0"),
        (_visit(next_step_title="回访"), "next_step_due"),
        (_visit(next_step_title="回访", next_step_due=past), "next_step_due"),
        (_visit(next_step_due=future), "next_step_title"),
        (
            _visit(next_step_title="回访", next_step_due=future, next_step_owner_id=999_999),
            "next_step_owner_id",
        ),
    ]
    for body, field in cases:
        response = api.post(_url(w["ent_a"]), json=body)
        assert response.status_code == 422, (body, response.status_code)
        assert response.content_type == PROBLEM
        fields = {e["field"] for e in response.get_json(force=True)["errors"]}
        assert field in fields, (body, fields)
    assert count(db, Visit) == 0 and count(db, FollowUp) == 0


def test_patch_changes_what_was_sent_with_if_match(
    db, make_unit, make_user, make_enterprise, api_for
):
    w = _world(make_unit, make_user, make_enterprise)
    api = api_for(w["staff"])
    contact_id = _contact(api, w["ent_a"])
    created = api.post(_url(w["ent_a"]), json=_visit(place="会议室"))
    url, etag = f"/api/v1/visits/{created.get_json()['id']}", created.headers["ETag"]
    assert api.patch(url, json={"flag": "yellow"}).status_code == 428
    changed = api.patch(
        url, json={"flag": "yellow", "contact_ids": [contact_id]}, headers={"If-Match": etag}
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    body = changed.get_json()
    # What was not sent stays as it was.
    assert (body["flag"], body["place"], body["summary"]) == ("yellow", "会议室", "谈二期扩产用地")
    assert body["contacts_met"] == [{"id": contact_id, "name": "王经理"}]
    assert changed.headers["ETag"] != etag
    (event,) = events(db, "visit.updated")
    assert {c["field"] for c in event.data["changes"]} == {"flag", "contacts_met"}

    stale = api.patch(url, json={"flag": "red"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.content_type == PROBLEM
    assert api.get(url).get_json()["flag"] == "yellow"
    assert len(events(db, "visit.updated")) == 1


def test_delete_is_soft_and_keeps_its_follow_ups(
    db, make_unit, make_user, make_enterprise, api_for
):
    w = _world(make_unit, make_user, make_enterprise)
    api = api_for(w["staff"])
    due = (today() + timedelta(days=3)).isoformat()
    created = api.post(
        _url(w["ent_a"]), json=_visit(next_step_title="回访", next_step_due=due)
    ).get_json()
    url = f"/api/v1/visits/{created['id']}"
    assert api.delete(url).status_code == 428
    assert api.delete(url, headers={"If-Match": '"1.999"'}).status_code == 412
    etag = api.get(url).headers["ETag"]
    assert api.delete(url, headers={"If-Match": etag}).status_code == 204
    assert api.get(url).status_code == 404
    assert api.get(_url(w["ent_a"])).get_json()["items"] == []
    assert len(events(db, "visit.deleted")) == 1
    follow_up_id = created["follow_ups"][0]["id"]
    assert api.get(f"/api/v1/follow-ups/{follow_up_id}").status_code == 200


def test_list_filters_and_pages(make_unit, make_user, make_enterprise, api_for):
    w = _world(make_unit, make_user, make_enterprise)
    api = api_for(w["staff"])
    ids = [
        api.post(_url(w["ent_a"]), json=_visit(kind=kind, flag=flag)).get_json()["id"]
        for kind, flag in [("call", "none"), ("leader_trip", "red"), ("call", "red")]
    ]
    calls = api.get(_url(w["ent_a"]) + "?kind=call").get_json()["items"]
    assert [v["id"] for v in calls] == [ids[0], ids[2]]
    red_calls = api.get(_url(w["ent_a"]) + "?kind=call&flag=red").get_json()["items"]
    assert [v["id"] for v in red_calls] == [ids[2]]
    first = api.get(_url(w["ent_a"]) + "?limit=2").get_json()
    rest = api.get(_url(w["ent_a"]) + f"?limit=2&cursor={first['next_cursor']}").get_json()
    assert [v["id"] for v in first["items"] + rest["items"]] == ids
    assert rest["next_cursor"] is None
    assert api.get(_url(w["ent_a"]) + "?kind=picnic").status_code == 422


def test_other_county_404_and_leader_403(db, make_unit, make_user, make_enterprise, api_for):
    w = _world(make_unit, make_user, make_enterprise)
    created = api_for(w["staff"]).post(_url(w["ent_a"]), json=_visit()).get_json()
    url = f"/api/v1/visits/{created['id']}"
    other = api_for(w["other"])
    assert other.get(_url(w["ent_a"])).status_code == 404
    assert other.get(url).status_code == 404
    assert other.post(_url(w["ent_a"]), json=_visit()).status_code == 404
    assert other.post(_url(w["ent_a"]), json={}).status_code == 404
    assert other.patch(url, json={"flag": "x"}, headers={"If-Match": "*"}).status_code == 404
    assert other.delete(url, headers={"If-Match": "*"}).status_code == 404

    leader = api_for(w["leader"])
    assert leader.get(url).status_code == 200
    assert len(leader.get(_url(w["ent_a"])).get_json()["items"]) == 1
    assert leader.post(_url(w["ent_a"]), json=_visit()).status_code == 403
    assert leader.patch(url, json={"flag": "red"}, headers={"If-Match": "*"}).status_code == 403
    assert leader.delete(url, headers={"If-Match": "*"}).status_code == 403
    assert count(db, Visit) == 1
    assert db.session.execute(select(Visit.deleted_at)).scalar_one() is None
