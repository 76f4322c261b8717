"""The follow-ups page and marking follow-ups done."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from crm.models import FollowUp, FollowUpStatus, TimelineEvent
from tests.helpers import add_follow_up, two_counties


@pytest.fixture
def world(db, make_unit, make_user, make_enterprise):
    people = two_counties(make_unit, make_user, manager=True)
    return {
        **people,
        "ent_a": make_enterprise(
            "宜宾新能源有限公司", units=[people["county_a"]], responsible=people["staff"]
        ),
        "ent_b": make_enterprise(
            "南溪食品有限公司", units=[people["county_b"]], responsible=people["other"]
        ),
    }


def row_titles(html: str) -> list[str]:
    return re.findall(
        r'<tr class="[^"]*" data-follow-up="\d+">\s*<td[^>]*>[^<]*</td>\s*<td>\s*([^<\s][^<]*?)\s*<',
        html,
    )


def test_my_open_follow_ups_grouped_by_due_date(client, login, db, world):
    staff, ent_a = world["staff"], world["ent_a"]
    late = add_follow_up(db, ent_a, staff, "逾期事项", -3)
    due_today = add_follow_up(db, ent_a, staff, "今天到期", 0)
    this_week = add_follow_up(db, ent_a, staff, "本周事项", 4)
    later = add_follow_up(db, ent_a, staff, "下月事项", 30)
    add_follow_up(db, ent_a, staff, "已完成事项", 1, FollowUpStatus.DONE)
    add_follow_up(db, ent_a, world["colleague"], "同事的事项", 1)
    login(staff)
    response = client.get("/follow-ups")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert row_titles(html) == ["逾期事项", "今天到期", "本周事项", "下月事项"]
    assert re.search(rf'<tr class="table-danger" data-follow-up="{late.id}">', html)
    assert re.search(rf'<tr class="table-warning" data-follow-up="{due_today.id}">', html)
    positions = [html.index(h) for h in ("Overdue", "Due today", "Due this week", "Later")]
    assert positions == sorted(positions)
    assert f'data-follow-up="{this_week.id}"' in html and f'data-follow-up="{later.id}"' in html
    assert f"/enterprises/{ent_a.id}" in html  # each row links to the file


def test_out_of_scope_follow_ups_are_never_listed(client, switch, db, world):
    # Owned by staff, but on an enterprise outside staff's units.
    add_follow_up(db, world["ent_b"], world["staff"], "外区事项", 2)
    add_follow_up(db, world["ent_a"], world["staff"], "本区事项", 2)
    add_follow_up(db, world["ent_a"], world["colleague"], "同事事项", 2)
    add_follow_up(db, world["ent_b"], world["other"], "南溪事项", 2)

    switch(world["staff"])
    assert row_titles(client.get("/follow-ups").get_data(as_text=True)) == ["本区事项"]
    # Staff asking for everyone's still get their own.
    html = client.get("/follow-ups?who=all").get_data(as_text=True)
    assert row_titles(html) == ["本区事项"]

    switch(world["manager"])
    html = client.get("/follow-ups?who=all").get_data(as_text=True)
    assert sorted(row_titles(html)) == ["同事事项", "本区事项"]
    assert "张敏" in html and "李强" in html  # the owner column

    switch(world["leader"])
    html = client.get("/follow-ups?who=all").get_data(as_text=True)
    assert sorted(row_titles(html)) == ["南溪事项", "同事事项", "外区事项", "本区事项"]


def test_filters_done_and_overdue(client, login, db, world):
    staff, ent_a = world["staff"], world["ent_a"]
    add_follow_up(db, ent_a, staff, "逾期事项", -1)
    add_follow_up(db, ent_a, staff, "未来事项", 5)
    add_follow_up(db, ent_a, staff, "已完成事项", -2, FollowUpStatus.DONE)
    login(staff)
    assert row_titles(client.get("/follow-ups?overdue=y").get_data(as_text=True)) == ["逾期事项"]
    assert row_titles(client.get("/follow-ups?status=done").get_data(as_text=True)) == [
        "已完成事项"
    ]
    # A bad filter value falls back to the defaults instead of failing.
    response = client.get("/follow-ups?status=bogus")
    assert response.status_code == 200
    assert row_titles(response.get_data(as_text=True)) == ["逾期事项", "未来事项"]


def test_owner_marks_done(client, login, db, world):
    follow_up = add_follow_up(db, world["ent_a"], world["staff"], "寄送资料", 1)
    login(world["staff"])
    response = client.post(
        f"/follow-ups/{follow_up.id}/done", data={"next": "/follow-ups?status=open"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/follow-ups?status=open")
    db.session.expire_all()
    row = db.session.get(FollowUp, follow_up.id)
    assert row.status == FollowUpStatus.DONE
    assert row.done_by_id == world["staff"].id and row.done_at is not None
    done = db.session.execute(
        select(TimelineEvent).where(TimelineEvent.kind == "follow_up.done")
    ).scalar_one()
    assert done.subject_type == "follow_up" and done.subject_id == follow_up.id
    assert done.enterprise_id == world["ent_a"].id
    assert done.data["title"] == "寄送资料"
    # Twice is harmless: no second event.
    client.post(f"/follow-ups/{follow_up.id}/done")
    events = db.session.execute(
        select(TimelineEvent).where(TimelineEvent.kind == "follow_up.done")
    ).all()
    assert len(events) == 1
    assert row_titles(client.get("/follow-ups").get_data(as_text=True)) == []


def test_done_redirects_to_the_file_and_ignores_foreign_next(client, login, db, world):
    follow_up = add_follow_up(db, world["ent_a"], world["staff"], "寄送资料", 1)
    login(world["staff"])
    response = client.post(
        f"/follow-ups/{follow_up.id}/done", data={"next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enterprises/{world['ent_a'].id}")


def test_who_may_mark_done(client, switch, db, world):
    follow_up = add_follow_up(db, world["ent_a"], world["staff"], "寄送资料", 1)

    switch(world["other"])  # another county: not even visible
    assert client.post(f"/follow-ups/{follow_up.id}/done").status_code == 404

    switch(world["leader"])  # sees it, may not edit, is not the owner
    assert client.post(f"/follow-ups/{follow_up.id}/done").status_code == 403
    db.session.expire_all()
    assert db.session.get(FollowUp, follow_up.id).status == FollowUpStatus.OPEN

    switch(world["colleague"])  # may edit the enterprise's records
    assert client.post(f"/follow-ups/{follow_up.id}/done").status_code == 302
    db.session.expire_all()
    assert db.session.get(FollowUp, follow_up.id).status == FollowUpStatus.DONE


def test_leader_may_close_own_follow_up(client, login, db, world):
    follow_up = add_follow_up(db, world["ent_a"], world["leader"], "带队回访", 3)
    login(world["leader"])
    assert client.post(f"/follow-ups/{follow_up.id}/done").status_code == 302
    db.session.expire_all()
    assert db.session.get(FollowUp, follow_up.id).status == FollowUpStatus.DONE


def test_deleted_follow_up_or_enterprise_is_gone(client, login, db, world):
    from crm.models.base import utcnow

    follow_up = add_follow_up(db, world["ent_a"], world["staff"], "已删除", 1)
    follow_up.deleted_at = utcnow()
    db.session.commit()
    login(world["staff"])
    assert client.post(f"/follow-ups/{follow_up.id}/done").status_code == 404
    assert client.post("/follow-ups/999999/done").status_code == 404
    assert row_titles(client.get("/follow-ups").get_data(as_text=True)) == []


def test_page_queries_do_not_grow_with_rows(client, login, app, db, world, make_enterprise):
    staff = world["staff"]
    unit = world["ent_a"].units[0]
    login(staff)

    def queries_for_page() -> int:
        statements = []

        def _count(*_args):
            statements.append(1)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", _count)
        try:
            assert client.get("/follow-ups?who=all").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", _count)
        return len(statements)

    add_follow_up(db, world["ent_a"], staff, "第一项", 1)
    few = queries_for_page()
    for n in range(8):
        ent = make_enterprise(f"批量企业{n}有限公司", units=[unit], responsible=staff)
        add_follow_up(db, ent, world["colleague"] if n % 2 else staff, f"事项{n}", n)
    many = queries_for_page()
    assert many == few
