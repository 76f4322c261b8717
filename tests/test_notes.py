"""Notes on an enterprise: add (own page and the file page's quick box), edit, delete, access."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from crm.models import Note, Role
from tests.helpers import events


@pytest.fixture
def world(make_unit, make_user, make_enterprise):
    unit_a, unit_b = make_unit("县甲"), make_unit("县乙")
    return SimpleNamespace(
        staff=make_user(Role.STAFF, [unit_a], locale="en", name="王芳"),
        colleague=make_user(Role.STAFF, [unit_a], locale="en"),
        outsider=make_user(Role.STAFF, [unit_b], locale="en"),
        leader=make_user(Role.LEADER, locale="en"),
        enterprise=make_enterprise("宜宾测试科技有限公司", units=[unit_a]),
    )


def notes(db, enterprise_id):
    return list(
        db.session.execute(
            select(Note).where(Note.enterprise_id == enterprise_id).order_by(Note.id)
        ).scalars()
    )


def test_new_note_page_shows_a_form(client_for, world):
    response = client_for(world.staff).get(f"/enterprises/{world.enterprise.id}/notes/new")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="body"' in page and "New note" in page


def test_add_note_as_the_file_page_posts_it(client_for, world, db):
    body = "董事长下月来宜宾考察。\n希望对接园区土地。"
    response = client_for(world.staff).post(
        f"/enterprises/{world.enterprise.id}/notes/new", data={"body": f"  {body}  "}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enterprises/{world.enterprise.id}")
    [note] = notes(db, world.enterprise.id)
    assert note.body == body and note.created_by_id == world.staff.id
    [event] = events(db, "note.added")
    assert (event.subject_type, event.subject_id, event.actor_id) == (
        "note",
        note.id,
        world.staff.id,
    )
    assert event.data["text"] == body
    assert event.data["title"] == "董事长下月来宜宾考察。"


def test_long_note_keeps_a_short_excerpt_in_the_file(client_for, world, db):
    body = "长" * 3000
    client_for(world.staff).post(
        f"/enterprises/{world.enterprise.id}/notes/new", data={"body": body}
    )
    [note] = notes(db, world.enterprise.id)
    assert note.body == body
    [event] = events(db, "note.added")
    assert len(event.data["text"]) <= 500 and event.data["text"].endswith("…")


@pytest.mark.parametrize("body", ["", "   \n  ", "x" * 10001])
def test_invalid_note_is_refused(client_for, world, db, body):
    response = client_for(world.staff).post(
        f"/enterprises/{world.enterprise.id}/notes/new", data={"body": body}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Write something in the note." in page or "cannot be longer than 10000" in page
    assert notes(db, world.enterprise.id) == []
    assert events(db, "note.added") == []


def test_edit_note_records_change_and_checks_version(client_for, world, db):
    client = client_for(world.staff)
    client.post(f"/enterprises/{world.enterprise.id}/notes/new", data={"body": "初稿"})
    [note] = notes(db, world.enterprise.id)

    page = client.get(f"/notes/{note.id}/edit")
    assert page.status_code == 200 and "初稿" in page.get_data(as_text=True)

    response = client.post(f"/notes/{note.id}/edit", data={"body": "定稿", "version": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Note, note.id).body == "定稿"
    [event] = events(db, "note.updated")
    assert event.data["changes"] == [{"field": "body", "old": "初稿", "new": "定稿"}]
    assert event.data["text"] == "定稿"

    # A second tab still holds version 1.
    stale = client.post(f"/notes/{note.id}/edit", data={"body": "另一个版本", "version": "1"})
    assert stale.status_code == 409
    assert "This record was changed by someone else" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Note, note.id).body == "定稿"
    assert len(events(db, "note.updated")) == 1


def test_delete_note_is_soft(client_for, world, db):
    client = client_for(world.staff)
    client.post(f"/enterprises/{world.enterprise.id}/notes/new", data={"body": "要删除的"})
    [note] = notes(db, world.enterprise.id)
    response = client.post(f"/notes/{note.id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    note = db.session.get(Note, note.id)
    assert note.deleted_at is not None and note.deleted_by_id == world.staff.id
    [event] = events(db, "note.deleted")
    assert event.data["text"] == "要删除的"
    assert client.get(f"/notes/{note.id}/edit").status_code == 404


def test_note_access(client_for, world, db):
    client_for(world.staff).post(
        f"/enterprises/{world.enterprise.id}/notes/new", data={"body": "内部"}
    )
    [note] = notes(db, world.enterprise.id)

    outsider = client_for(world.outsider)
    assert (
        outsider.post(
            f"/enterprises/{world.enterprise.id}/notes/new", data={"body": "x"}
        ).status_code
        == 404
    )
    assert outsider.get(f"/notes/{note.id}/edit").status_code == 404
    assert outsider.post(f"/notes/{note.id}/delete").status_code == 404

    leader = client_for(world.leader)
    assert (
        leader.post(f"/enterprises/{world.enterprise.id}/notes/new", data={"body": "x"}).status_code
        == 403
    )
    assert leader.post(f"/notes/{note.id}/delete").status_code == 403

    # A colleague of the same unit may edit it.
    response = client_for(world.colleague).post(
        f"/notes/{note.id}/edit", data={"body": "同事补充", "version": "1"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    [note] = notes(db, world.enterprise.id)
    assert note.body == "同事补充" and note.deleted_at is None
