"""The contacts of the JSON API: scoped like the file, written through the same
service (and so recorded in the file exactly as from the contact form)."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import Contact, TimelineEvent
from tests.helpers import events, two_counties

PROBLEM = "application/problem+json"


def _world(make_unit, make_user, make_enterprise):
    people = two_counties(make_unit, make_user, manager=True)
    people["ent_a"] = make_enterprise(
        "宜宾新能源有限公司", units=[people["county_a"]], responsible=people["staff"]
    )
    people["ent_b"] = make_enterprise("南溪食品有限公司", units=[people["county_b"]])
    return people


def _url(enterprise) -> str:
    return f"/api/v1/enterprises/{enterprise.id}/contacts"


def test_create_records_in_the_file_like_the_form(
    db, make_unit, make_user, make_enterprise, api_for, client, login
):
    w = _world(make_unit, make_user, make_enterprise)
    api = api_for(w["staff"])
    response = api.post(
        _url(w["ent_a"]),
        json={
            "name": "王经理",
            "title": "总经理",
            "phone": "0831-1234567",
            "is_main": True,
            "known_by_id": w["colleague"].id,
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["enterprise"] == {"id": w["ent_a"].id, "name": "宜宾新能源有限公司"}
    assert body["known_by"] == {"id": w["colleague"].id, "name": "李强"}
    assert response.headers["ETag"] == f'"{body["id"]}.1"'
    (event,) = events(db, "contact.created")
    assert (event.actor_id, event.enterprise_id, event.subject_id) == (
        w["staff"].id,
        w["ent_a"].id,
        body["id"],
    )
    assert event.data["title"] == "王经理" and event.data["is_main"] is True
    # The file page shows it as it shows a contact added on the form.
    login(w["staff"])
    html = client.get(f"/enterprises/{w['ent_a'].id}").get_data(as_text=True)
    assert "王经理" in html and "Contact added" in html


def test_a_second_main_contact_takes_over(db, make_unit, make_user, make_enterprise, api_for):
    w = _world(make_unit, make_user, make_enterprise)
    api = api_for(w["staff"])
    first = api.post(_url(w["ent_a"]), json={"name": "王经理", "is_main": True}).get_json()
    api.post(_url(w["ent_a"]), json={"name": "李总", "is_main": True})
    assert api.get(f"/api/v1/contacts/{first['id']}").get_json()["is_main"] is False
    assert [c["name"] for c in api.get(_url(w["ent_a"]) + "?is_main=true").get_json()["items"]] == [
        "李总"
    ]


def test_validation_is_422_naming_the_field(db, make_unit, make_user, make_enterprise, api_for):
    w = _world(make_unit, make_user, make_enterprise)
    api = api_for(w["staff"])
    cases = [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "王", "phone": "call me"}, "phone"),
        ({"name": "王", "email": "not an address"}, "email"),
        ({"name": "王", "is_main": "perhaps"}, "is_main"),
        ({"name": "王", "known_by_id": 2**31}, "known_by_id"),
        ({"name": "王", "known_by_id": 999_999}, "known_by_id"),
        # Someone who does not work with the enterprise cannot "know" its contact.
        ({"name": "王", "known_by_id": w["other"].id}, "known_by_id"),
        ({"name": "王", "secret": 1}, "secret"),
    ]
    for body, field in cases:
        response = api.post(_url(w["ent_a"]), json=body)
        assert response.status_code == 422, (body, response.status_code)
        assert response.content_type == PROBLEM
        fields = {e["field"] for e in response.get_json(force=True)["errors"]}
        assert field in fields, (body, fields)
    assert db.session.execute(select(Contact)).first() is None
    assert events(db, "contact.created") == []


def test_list_pages_and_hides_deleted(db, make_unit, make_user, make_enterprise, api_for):
    w = _world(make_unit, make_user, make_enterprise)
    api = api_for(w["manager"])
    made = [
        api.post(_url(w["ent_a"]), json={"name": f"联系人{i}"}).get_json()["id"] for i in range(5)
    ]
    etag = api.get(f"/api/v1/contacts/{made[0]}").headers["ETag"]
    assert api.delete(f"/api/v1/contacts/{made[0]}", headers={"If-Match": etag}).status_code == 204
    seen, cursor = [], None
    while True:
        body = api.get(
            _url(w["ent_a"]) + "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        ).get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == made[1:]
    assert api.get(f"/api/v1/contacts/{made[0]}").status_code == 404
    (event,) = events(db, "contact.deleted")
    assert event.subject_id == made[0] and event.actor_id == w["manager"].id
    db.session.expire_all()
    assert db.session.get(Contact, made[0]).deleted_at is not None  # soft: the trash has it


def test_patch_needs_if_match_and_refuses_stale(db, make_unit, make_user, make_enterprise, api_for):
    w = _world(make_unit, make_user, make_enterprise)
    api = api_for(w["staff"])
    created = api.post(_url(w["ent_a"]), json={"name": "王经理"})
    url, etag = f"/api/v1/contacts/{created.get_json()['id']}", created.headers["ETag"]
    assert api.patch(url, json={"title": "董事长"}).status_code == 428
    changed = api.patch(url, json={"title": "董事长"}, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["title"] == "董事长"
    stale = api.patch(url, json={"title": "总监"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.content_type == PROBLEM
    assert api.get(url).get_json()["title"] == "董事长"
    (event,) = events(db, "contact.updated")
    assert event.data["changes"] == [{"field": "title", "old": None, "new": "董事长"}]
    # A stale delete changes nothing either.
    assert api.delete(url, headers={"If-Match": etag}).status_code == 412
    assert api.get(url).status_code == 200


def test_other_county_gets_404_and_cannot_create(
    db, make_unit, make_user, make_enterprise, api_for
):
    w = _world(make_unit, make_user, make_enterprise)
    mine = api_for(w["staff"]).post(_url(w["ent_a"]), json={"name": "王经理"}).get_json()
    other = api_for(w["other"])
    assert other.get(_url(w["ent_a"])).status_code == 404
    assert other.get(f"/api/v1/contacts/{mine['id']}").status_code == 404
    # 404 before the body is read: a bad body must not reveal that the enterprise exists.
    for body in ({"name": "冒名"}, {}, {"name": 5}):
        assert other.post(_url(w["ent_a"]), json=body).status_code == 404
    assert (
        other.patch(
            f"/api/v1/contacts/{mine['id']}", json={"name": 5}, headers={"If-Match": "*"}
        ).status_code
        == 404
    )
    assert (
        other.delete(f"/api/v1/contacts/{mine['id']}", headers={"If-Match": "*"}).status_code == 404
    )
    assert [c.name for c in db.session.execute(select(Contact)).scalars()] == ["王经理"]


def test_leader_reads_but_cannot_write(db, make_unit, make_user, make_enterprise, api_for):
    w = _world(make_unit, make_user, make_enterprise)
    mine = api_for(w["staff"]).post(_url(w["ent_a"]), json={"name": "王经理"}).get_json()
    leader = api_for(w["leader"])
    assert [c["name"] for c in leader.get(_url(w["ent_a"])).get_json()["items"]] == ["王经理"]
    assert leader.post(_url(w["ent_a"]), json={"name": "新人"}).status_code == 403
    url = f"/api/v1/contacts/{mine['id']}"
    assert leader.patch(url, json={"title": "x"}, headers={"If-Match": "*"}).status_code == 403
    assert leader.delete(url, headers={"If-Match": "*"}).status_code == 403
    kinds = [e.kind for e in db.session.execute(select(TimelineEvent)).scalars()]
    assert kinds.count("contact.created") == 1 and "contact.deleted" not in kinds


def test_unknown_enterprise_or_contact_404(make_unit, make_user, make_enterprise, api_for):
    w = _world(make_unit, make_user, make_enterprise)
    api = api_for(w["staff"])
    assert api.get("/api/v1/enterprises/999999/contacts").status_code == 404
    assert api.get("/api/v1/contacts/999999").status_code == 404
