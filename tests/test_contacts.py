"""Contacts: create, edit, main-contact switching, validation, locking, soft delete, access."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from crm.errors import ServiceError
from crm.models import Contact, Role
from tests.helpers import events


@pytest.fixture
def world(make_unit, make_user, make_enterprise):
    unit_a, unit_b = make_unit("县甲"), make_unit("县乙")
    staff = make_user(Role.STAFF, [unit_a], locale="en", name="王芳")
    colleague = make_user(Role.STAFF, [unit_a], name="李强")
    outsider = make_user(Role.STAFF, [unit_b], locale="en")
    leader = make_user(Role.LEADER, locale="en")
    enterprise = make_enterprise("宜宾测试科技有限公司", units=[unit_a])
    other_enterprise = make_enterprise("眉山另一家有限公司", units=[unit_b])
    return SimpleNamespace(
        unit_a=unit_a,
        staff=staff,
        colleague=colleague,
        outsider=outsider,
        leader=leader,
        enterprise=enterprise,
        other_enterprise=other_enterprise,
    )


def form_data(**overrides):
    data = {
        "name": "张伟",
        "title": "总经理",
        "phone": "+86 (831) 123-4567",
        "email": "zhang.wei@example.cn",
        "wechat": "zhangwei_88",
        "known_by_id": "0",
        "notes": "喜欢早上见面",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def contacts(db, enterprise_id):
    return list(
        db.session.execute(
            select(Contact).where(Contact.enterprise_id == enterprise_id).order_by(Contact.id)
        ).scalars()
    )


def add_contact(client, enterprise_id, **overrides):
    return client.post(f"/enterprises/{enterprise_id}/contacts/new", data=form_data(**overrides))


def test_new_form_lists_staff_who_know_the_enterprise(client_for, world):
    response = client_for(world.staff).get(f"/enterprises/{world.enterprise.id}/contacts/new")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="name"' in page and 'name="phone"' in page
    assert "王芳" in page and "李强" in page
    assert world.outsider.name not in page


def test_create_contact_saves_fields_and_records_event(client_for, world, db):
    response = add_contact(
        client_for(world.staff),
        world.enterprise.id,
        known_by_id=str(world.colleague.id),
        is_main="y",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enterprises/{world.enterprise.id}")

    [contact] = contacts(db, world.enterprise.id)
    assert (contact.name, contact.title, contact.phone) == ("张伟", "总经理", "+86 (831) 123-4567")
    assert contact.email == "zhang.wei@example.cn" and contact.wechat == "zhangwei_88"
    assert contact.is_main is True and contact.known_by_id == world.colleague.id
    assert contact.notes == "喜欢早上见面" and contact.version == 1

    [event] = events(db, "contact.created")
    assert event.enterprise_id == world.enterprise.id
    assert (event.subject_type, event.subject_id) == ("contact", contact.id)
    assert event.actor_id == world.staff.id
    assert event.data["title"] == "张伟"


def test_setting_a_main_contact_unsets_the_previous_one_on_the_record(client_for, world, db):
    client = client_for(world.staff)
    add_contact(client, world.enterprise.id, name="甲", is_main="y")
    add_contact(client, world.other_enterprise.id, name="外", is_main="y")  # 404: not in scope
    add_contact(client, world.enterprise.id, name="乙", is_main="y")
    first, second = contacts(db, world.enterprise.id)
    assert (first.is_main, second.is_main) == (False, True)
    [unset] = events(db, "contact.updated", first.id)
    assert unset.data["changes"] == [{"field": "is_main", "old": True, "new": False}]

    # Editing the first one back to main moves the flag again.
    response = client.post(
        f"/contacts/{first.id}/edit",
        data=form_data(name="甲", is_main="y", version=str(first.version)),
    )
    assert response.status_code == 302
    db.session.expire_all()
    first, second = contacts(db, world.enterprise.id)
    assert (first.is_main, second.is_main) == (True, False)
    assert events(db, "contact.updated", second.id)[-1].data["changes"] == [
        {"field": "is_main", "old": True, "new": False}
    ]


def test_main_contact_of_another_enterprise_is_untouched(world, db, make_enterprise):
    from crm.contacts.services import create_contact

    elsewhere = create_contact(world.other_enterprise, actor=None, name="别家", is_main=True)
    create_contact(world.enterprise, actor=None, name="本家", is_main=True)
    db.session.commit()
    db.session.refresh(elsewhere)
    assert elsewhere.is_main is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"email": "a@b"}, "Enter a valid email address."),
        ({"phone": "call me maybe"}, "Enter a phone number"),
        ({"phone": "123"}, "Enter a phone number"),
        ({"phone": "138<script>0013"}, "Enter a phone number"),
        ({"phone": "1" * 41}, "Field cannot be longer than 40 characters."),
        ({"name": ""}, "Enter the contact"),
        ({"name": "   "}, "Enter the contact"),
        ({"name": "名" * 101}, "Field cannot be longer than 100 characters."),
        ({"title": "t" * 101}, "Field cannot be longer than 100 characters."),
        ({"wechat": "w" * 101}, "Field cannot be longer than 100 characters."),
        ({"notes": "n" * 5001}, "Field cannot be longer than 5000 characters."),
        ({"known_by_id": "abc"}, "Invalid Choice"),
    ],
)
def test_invalid_contact_is_refused_and_nothing_saved(client_for, world, db, overrides, message):
    response = add_contact(client_for(world.staff), world.enterprise.id, **overrides)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert contacts(db, world.enterprise.id) == []
    assert events(db, "contact.created") == []


def test_known_by_must_be_someone_who_works_with_the_enterprise(client_for, world, db):
    response = add_contact(
        client_for(world.staff), world.enterprise.id, known_by_id=str(world.outsider.id)
    )
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert contacts(db, world.enterprise.id) == []


def test_service_validates_without_a_form(app, world, db):
    from crm.contacts.services import create_contact

    with app.test_request_context(), pytest.raises(ServiceError) as bad_phone:
        create_contact(world.enterprise, actor=world.staff, name="张", phone="abc")
    assert bad_phone.value.field == "phone"
    with app.test_request_context(), pytest.raises(ServiceError) as bad_email:
        create_contact(world.enterprise, actor=world.staff, name="张", email="x@")
    assert bad_email.value.field == "email"
    with app.test_request_context(), pytest.raises(ServiceError) as outsider:
        create_contact(world.enterprise, actor=world.staff, name="张", known_by=world.outsider)
    assert outsider.value.field == "known_by"
    db.session.rollback()
    assert contacts(db, world.enterprise.id) == []


def test_edit_records_field_changes(client_for, world, db):
    client = client_for(world.staff)
    add_contact(client, world.enterprise.id)
    [contact] = contacts(db, world.enterprise.id)

    page = client.get(f"/contacts/{contact.id}/edit")
    assert page.status_code == 200
    assert "+86 (831) 123-4567" in page.get_data(as_text=True)  # personal data shown in scope

    response = client.post(
        f"/contacts/{contact.id}/edit",
        data=form_data(
            phone="13800138000",
            email="",
            known_by_id=str(world.colleague.id),
            version=str(contact.version),
        ),
    )
    assert response.status_code == 302
    db.session.expire_all()
    contact = db.session.get(Contact, contact.id)
    assert contact.phone == "13800138000" and contact.email is None
    assert contact.version == 2

    [event] = events(db, "contact.updated", contact.id)
    assert event.actor_id == world.staff.id
    assert event.data["title"] == "张伟"
    changes = {c["field"]: (c["old"], c["new"]) for c in event.data["changes"]}
    assert changes == {
        "phone": ("+86 (831) 123-4567", "13800138000"),
        "email": ("zhang.wei@example.cn", None),
        "known_by": (None, "李强"),
    }


def test_edit_without_changes_records_nothing(client_for, world, db):
    client = client_for(world.staff)
    add_contact(client, world.enterprise.id)
    [contact] = contacts(db, world.enterprise.id)
    response = client.post(
        f"/contacts/{contact.id}/edit", data=form_data(version=str(contact.version))
    )
    assert response.status_code == 302
    assert events(db, "contact.updated") == []


def test_stale_edit_is_refused_with_409(client_for, world, db):
    client = client_for(world.staff)
    add_contact(client, world.enterprise.id)
    [contact] = contacts(db, world.enterprise.id)
    opened_version = contact.version
    # Someone else saves first.
    client_for(world.colleague).post(
        f"/contacts/{contact.id}/edit",
        data=form_data(title="董事长", version=str(opened_version)),
    )
    response = client.post(
        f"/contacts/{contact.id}/edit",
        data=form_data(title="副总", version=str(opened_version)),
    )
    assert response.status_code == 409
    assert "This record was changed by someone else" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).title == "董事长"
    assert len(events(db, "contact.updated")) == 1


def test_race_caught_by_the_version_column(world, db):
    """Between the form check and the UPDATE another writer bumps the version."""
    from sqlalchemy.orm.exc import StaleDataError

    from crm.contacts.services import create_contact, update_contact

    contact = create_contact(world.enterprise, actor=None, name="张")
    db.session.commit()
    version = contact.version
    with db.engine.begin() as conn:
        conn.execute(update(Contact).where(Contact.id == contact.id).values(version=version + 1))
    with pytest.raises(StaleDataError):
        update_contact(contact, actor=None, expected_version=version, title="新")
    db.session.rollback()


def test_delete_is_soft_and_recorded(client_for, world, db):
    client = client_for(world.staff)
    add_contact(client, world.enterprise.id)
    [contact] = contacts(db, world.enterprise.id)
    assert client.get(f"/contacts/{contact.id}/delete").status_code == 405

    response = client.post(f"/contacts/{contact.id}/delete", data={"version": contact.version})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enterprises/{world.enterprise.id}")
    db.session.expire_all()
    contact = db.session.get(Contact, contact.id)
    assert contact.deleted_at is not None and contact.deleted_by_id == world.staff.id
    [event] = events(db, "contact.deleted", contact.id)
    assert event.data["title"] == "张伟"

    assert client.get(f"/contacts/{contact.id}/edit").status_code == 404
    assert client.post(f"/contacts/{contact.id}/delete").status_code == 404


def test_out_of_scope_is_404_and_leader_may_not_change(client_for, world, db):
    add_contact(client_for(world.staff), world.enterprise.id)
    [contact] = contacts(db, world.enterprise.id)

    outsider = client_for(world.outsider)
    assert outsider.get(f"/enterprises/{world.enterprise.id}/contacts/new").status_code == 404
    assert outsider.get(f"/contacts/{contact.id}/edit").status_code == 404
    response = outsider.post(f"/contacts/{contact.id}/edit", data=form_data(version="1"))
    assert response.status_code == 404
    assert "+86" not in response.get_data(as_text=True)
    assert outsider.post(f"/contacts/{contact.id}/delete").status_code == 404

    leader = client_for(world.leader)
    assert add_contact(leader, world.enterprise.id).status_code == 403
    assert leader.get(f"/contacts/{contact.id}/edit").status_code == 403
    assert leader.post(f"/contacts/{contact.id}/delete").status_code == 403

    db.session.expire_all()
    [contact] = contacts(db, world.enterprise.id)
    assert contact.deleted_at is None and contact.version == 1


def test_anonymous_is_sent_to_sign_in(client, world):
    response = client.get(f"/enterprises/{world.enterprise.id}/contacts/new")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
