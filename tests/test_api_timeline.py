"""The enterprise's file as an API resource: newest first, keyset pages on (at, id),
the file page's events with a summary in the caller's language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm import timeline
from crm.models import Role, TimelineEvent
from tests.helpers import today, two_counties


def _world(db, make_unit, make_user, make_enterprise):
    w = two_counties(make_unit, make_user, manager=True)
    w["ent_a"] = make_enterprise(
        "宜宾新能源有限公司", units=[w["county_a"]], responsible=w["staff"], actor=w["staff"]
    )
    w["ent_b"] = make_enterprise("南溪食品有限公司", units=[w["county_b"]])
    return w


def _url(enterprise) -> str:
    return f"/api/v1/enterprises/{enterprise.id}/timeline"


def test_api_writes_appear_newest_first_with_summaries(
    db, make_unit, make_user, make_enterprise, api_for
):
    w = _world(db, make_unit, make_user, make_enterprise)
    api = api_for(w["staff"])  # locale en
    api.post(f"/api/v1/enterprises/{w['ent_a'].id}/contacts", json={"name": "王经理"})
    visit = api.post(
        f"/api/v1/enterprises/{w['ent_a'].id}/visits",
        json={
            "kind": "call",
            "visit_date": today().isoformat(),
            "summary": "电话沟通",
            "place": "电话",
        },
    ).get_json()
    body = api.get(_url(w["ent_a"])).get_json()
    kinds = [e["kind"] for e in body["items"]]
    assert sorted(kinds) == ["contact.created", "enterprise.created", "visit.logged"]
    assert kinds[-1] == "enterprise.created"  # the oldest last
    ats = [(e["at"], e["id"]) for e in body["items"]]
    assert ats == sorted(ats, reverse=True)
    contact = next(e for e in body["items"] if e["kind"] == "contact.created")
    assert contact["summary"] == "Contact added: 王经理"
    assert contact["actor"] == {"id": w["staff"].id, "name": "张敏"}
    assert contact["subject_type"] == "contact" and contact["data"]["title"] == "王经理"
    logged = next(e for e in body["items"] if e["kind"] == "visit.logged")
    assert logged["subject_id"] == visit["id"] and logged["data"]["kind"] == "call"
    # In Chinese when asked.
    chinese = api.get(_url(w["ent_a"]), headers={"Accept-Language": "zh-CN"}).get_json()
    summary = next(e for e in chinese["items"] if e["kind"] == "contact.created")["summary"]
    assert summary.endswith("王经理") and not summary.startswith("Contact added")


def test_keyset_pages_descending_with_ties_on_time(
    db, make_unit, make_user, make_enterprise, api_for
):
    w = _world(db, make_unit, make_user, make_enterprise)
    at = datetime(2024, 5, 1, 4, 0, tzinfo=UTC)
    made = []
    for i in range(7):
        # Three events share one instant: only the id tells them apart.
        when = at if i < 3 else at + timedelta(hours=i)
        event = timeline.record(
            w["ent_a"].id,
            "note.added",
            actor=None,
            subject_type="note",
            subject_id=i,
            data={"title": f"备注{i}"},
            occurred_at=when,
        )
        db.session.flush()
        made.append(event.id)
    db.session.commit()
    api = api_for(w["staff"])
    seen, cursor = [], None
    while True:
        url = (
            _url(w["ent_a"])
            + "?subject_type=note&limit=2"
            + (f"&cursor={cursor}" if cursor else "")
        )
        body = api.get(url).get_json()
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [made[6], made[5], made[4], made[3], made[2], made[1], made[0]]
    first = api.get(_url(w["ent_a"]) + "?subject_type=note&limit=1").get_json()["items"][0]
    assert first["actor"] is None and first["summary"] == "Note added: 备注6"


def test_filters_by_kind_and_subject(db, make_unit, make_user, make_enterprise, api_for):
    w = _world(db, make_unit, make_user, make_enterprise)
    api = api_for(w["staff"])
    api.post(f"/api/v1/enterprises/{w['ent_a'].id}/contacts", json={"name": "王经理"})
    only = api.get(_url(w["ent_a"]) + "?kind=contact.created").get_json()["items"]
    assert [e["kind"] for e in only] == ["contact.created"]
    by_subject = api.get(_url(w["ent_a"]) + "?subject_type=enterprise").get_json()["items"]
    assert [e["kind"] for e in by_subject] == ["enterprise.created"]
    assert api.get(_url(w["ent_a"]) + "?kind=" + "x" * 41).status_code == 422
    assert api.get(_url(w["ent_a"]) + "?cursor=bad").status_code == 422


def test_scope_other_county_404_leader_reads(db, make_unit, make_user, make_enterprise, api_for):
    w = _world(db, make_unit, make_user, make_enterprise)
    assert api_for(w["other"]).get(_url(w["ent_a"])).status_code == 404
    assert api_for(w["leader"]).get(_url(w["ent_a"])).status_code == 200
    assert api_for(w["staff"]).get(_url(w["ent_b"])).status_code == 404
    assert api_for(w["staff"]).get("/api/v1/enterprises/999999/timeline").status_code == 404


def test_deleted_enterprise_file_for_admins_only(
    db, make_unit, make_user, make_enterprise, api_for
):
    from crm.enterprises.services import delete_enterprise

    w = _world(db, make_unit, make_user, make_enterprise)
    delete_enterprise(w["ent_a"], actor=w["manager"])
    db.session.commit()
    assert api_for(w["manager"]).get(_url(w["ent_a"])).status_code == 404
    admin = api_for(make_user(Role.ADMIN, []))
    body = admin.get(_url(w["ent_a"])).get_json()
    assert body["items"][0]["kind"] == "enterprise.deleted"
    assert db.session.query(TimelineEvent).count() >= 2
