"""Follow-ups of the JSON API: the page's list and filters, an enterprise's, one, and
marking done by the same rule and service as the page's button."""

from __future__ import annotations

from crm.models import Escalation, FollowUp, FollowUpStatus
from tests.helpers import add_follow_up, events, today, two_counties

PROBLEM = "application/problem+json"


def _world(db, make_unit, make_user, make_enterprise):
    w = two_counties(make_unit, make_user, manager=True)
    w["ent_a"] = make_enterprise(
        "宜宾新能源有限公司", units=[w["county_a"]], responsible=w["staff"]
    )
    w["ent_b"] = make_enterprise("南溪食品有限公司", units=[w["county_b"]], responsible=w["other"])
    return w


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["title"] for item in response.get_json()["items"]]


def test_mine_by_due_date_and_all_for_those_who_oversee(
    db, make_unit, make_user, make_enterprise, api_for
):
    w = _world(db, make_unit, make_user, make_enterprise)
    add_follow_up(db, w["ent_a"], w["staff"], "下月事项", 30)
    add_follow_up(db, w["ent_a"], w["staff"], "逾期事项", -3)
    add_follow_up(db, w["ent_a"], w["staff"], "已完成事项", 1, FollowUpStatus.DONE)
    add_follow_up(db, w["ent_a"], w["colleague"], "同事事项", 2)
    add_follow_up(db, w["ent_b"], w["staff"], "外区事项", 2)  # staff's, but outside staff's units
    add_follow_up(db, w["ent_b"], w["other"], "南溪事项", 2)

    staff = api_for(w["staff"])
    assert _titles(staff.get("/api/v1/follow-ups/")) == ["逾期事项", "下月事项"]
    # Staff asking for everyone's get their own, as on the page.
    assert _titles(staff.get("/api/v1/follow-ups/?who=all")) == ["逾期事项", "下月事项"]
    assert _titles(staff.get("/api/v1/follow-ups/?status=done")) == ["已完成事项"]
    assert _titles(staff.get("/api/v1/follow-ups/?due=overdue")) == ["逾期事项"]

    manager = api_for(w["manager"])
    assert _titles(manager.get("/api/v1/follow-ups/")) == []
    assert _titles(manager.get("/api/v1/follow-ups/?who=all")) == [
        "逾期事项",
        "同事事项",
        "下月事项",
    ]
    leader = api_for(w["leader"])
    assert sorted(_titles(leader.get("/api/v1/follow-ups/?who=all"))) == sorted(
        ["逾期事项", "同事事项", "下月事项", "外区事项", "南溪事项"]
    )
    for bad in ("who=everyone", "status=maybe", "due=soon", "limit=0", "cursor=x", "unit=1"):
        response = staff.get(f"/api/v1/follow-ups/?{bad}")
        assert response.status_code == 422 and response.content_type == PROBLEM, bad


def test_due_this_week_and_escalated(db, make_unit, make_user, make_enterprise, api_for):
    from crm.clock import next_monday

    w = _world(db, make_unit, make_user, make_enterprise)
    days_left = (next_monday(today()) - today()).days  # 1..7: today to Sunday
    add_follow_up(db, w["ent_a"], w["staff"], "本周事项", days_left - 1)
    add_follow_up(db, w["ent_a"], w["staff"], "下周事项", days_left)
    late = add_follow_up(db, w["ent_a"], w["staff"], "逾期事项", -2)
    db.session.add(
        Escalation(subject_type="follow_up", subject_id=late.id, level=1, reason="overdue")
    )
    db.session.commit()
    api = api_for(w["manager"])
    assert _titles(api.get("/api/v1/follow-ups/?who=all&due=week")) == ["本周事项"]
    assert _titles(api.get("/api/v1/follow-ups/?who=all&due=escalated")) == ["逾期事项"]


def test_pages_on_due_date_then_id(db, make_unit, make_user, make_enterprise, api_for):
    w = _world(db, make_unit, make_user, make_enterprise)
    made = [
        add_follow_up(db, w["ent_a"], w["staff"], f"事项{i}", days).id
        for i, days in enumerate([5, 1, 5, 3, 1])
    ]
    api = api_for(w["staff"])
    seen, cursor = [], None
    while True:
        url = "/api/v1/follow-ups/?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(url).get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [made[1], made[4], made[3], made[0], made[2]]


def test_enterprise_follow_ups_scoped(db, make_unit, make_user, make_enterprise, api_for):
    w = _world(db, make_unit, make_user, make_enterprise)
    add_follow_up(db, w["ent_a"], w["colleague"], "同事事项", 2)
    add_follow_up(db, w["ent_a"], w["staff"], "已完成事项", 1, FollowUpStatus.DONE)
    add_follow_up(db, w["ent_b"], w["other"], "南溪事项", 2)
    url = f"/api/v1/enterprises/{w['ent_a'].id}/follow-ups"
    api = api_for(w["staff"])
    assert _titles(api.get(url)) == ["已完成事项", "同事事项"]
    assert _titles(api.get(url + "?status=open")) == ["同事事项"]
    item = api.get(url).get_json()["items"][1]
    assert item["enterprise"] == {"id": w["ent_a"].id, "name": "宜宾新能源有限公司"}
    assert item["owner"] == {"id": w["colleague"].id, "name": "李强"} and item["done_at"] is None
    other = api_for(w["other"])
    assert other.get(url).status_code == 404
    assert other.get(f"/api/v1/follow-ups/{item['id']}").status_code == 404
    assert api_for(w["leader"]).get(f"/api/v1/follow-ups/{item['id']}").status_code == 200


def test_done_by_owner_with_if_match_records_once(
    db, make_unit, make_user, make_enterprise, api_for
):
    w = _world(db, make_unit, make_user, make_enterprise)
    follow_up = add_follow_up(db, w["ent_a"], w["staff"], "回访", 2)
    api = api_for(w["staff"])
    url = f"/api/v1/follow-ups/{follow_up.id}"
    etag = api.get(url).headers["ETag"]
    assert api.post(url + "/done").status_code == 428
    assert api.post(url + "/done", headers={"If-Match": '"1.999"'}).status_code == 412
    done = api.post(url + "/done", headers={"If-Match": etag})
    assert done.status_code == 200, done.get_data(as_text=True)
    body = done.get_json()
    assert body["status"] == "done" and body["done_by_id"] == w["staff"].id and body["done_at"]
    (event,) = events(db, "follow_up.done")
    assert (event.actor_id, event.subject_id) == (w["staff"].id, follow_up.id)
    # Done again: nothing changes, nothing is recorded twice.
    again = api.post(url + "/done", headers={"If-Match": done.headers["ETag"]})
    assert again.status_code == 200 and len(events(db, "follow_up.done")) == 1


def test_done_rule_owner_or_edit(db, make_unit, make_user, make_enterprise, api_for):
    w = _world(db, make_unit, make_user, make_enterprise)
    leader = w["leader"]
    owned_by_leader = add_follow_up(db, w["ent_a"], leader, "领导的事项", 2)
    owned_by_staff = add_follow_up(db, w["ent_a"], w["staff"], "专员的事项", 2)
    leader_api = api_for(leader)
    # A leader reads only, but may close what is theirs (the page's rule).
    assert (
        leader_api.post(
            f"/api/v1/follow-ups/{owned_by_leader.id}/done", headers={"If-Match": "*"}
        ).status_code
        == 200
    )
    assert (
        leader_api.post(
            f"/api/v1/follow-ups/{owned_by_staff.id}/done", headers={"If-Match": "*"}
        ).status_code
        == 403
    )
    # A colleague who may edit the enterprise may; another county may not even see it.
    assert (
        api_for(w["other"])
        .post(f"/api/v1/follow-ups/{owned_by_staff.id}/done", headers={"If-Match": "*"})
        .status_code
        == 404
    )
    assert (
        api_for(w["colleague"])
        .post(f"/api/v1/follow-ups/{owned_by_staff.id}/done", headers={"If-Match": "*"})
        .status_code
        == 200
    )
    db.session.expire_all()
    assert db.session.get(FollowUp, owned_by_staff.id).done_by_id == w["colleague"].id


def test_done_follow_up_leaves_the_open_list(db, make_unit, make_user, make_enterprise, api_for):
    w = _world(db, make_unit, make_user, make_enterprise)
    follow_up = add_follow_up(db, w["ent_a"], w["staff"], "回访", 0)
    api = api_for(w["staff"])
    api.post(f"/api/v1/follow-ups/{follow_up.id}/done", headers={"If-Match": "*"})
    assert _titles(api.get("/api/v1/follow-ups/")) == []
    assert _titles(api.get("/api/v1/follow-ups/?status=done")) == ["回访"]
