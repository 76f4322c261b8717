"""The admin area: gatekeeping, users, units, reference lists and the trash."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from crm.admin import services
from crm.auth.services import hash_password
from crm.models import (
    Chamber,
    Contact,
    Enterprise,
    Industry,
    Note,
    OrgUnit,
    Role,
    TimelineEvent,
    UnitKind,
    User,
    Visit,
    VisitKind,
)
from crm.models.base import utcnow
from tests.conftest import PASSWORD

STRONG = "a strong password 42"


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, email="root@example.test", name="管理员", locale="en")


@pytest.fixture(autouse=True)
def _flatten_units(db):
    """conftest empties tables with one DELETE each; on SQLite the RESTRICT on
    org_unit.parent_id fires per row, so detach sub-units first."""
    yield
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE org_unit SET parent_id = NULL"))


@pytest.fixture
def english(app):
    """Service errors outside a request are translated; pin the language."""
    from flask_babel import force_locale

    with force_locale("en"):
        yield


@pytest.fixture
def as_admin(login, admin):
    return login(admin)


def _user_count(db) -> int:
    return db.session.execute(select(func.count()).select_from(User)).scalar_one()


# -- gatekeeping -------------------------------------------------------------------
ADMIN_URLS = [
    ("get", "/admin/"),
    ("get", "/admin/users"),
    ("get", "/admin/users/new"),
    ("post", "/admin/users/new"),
    ("get", "/admin/units"),
    ("post", "/admin/units/new"),
    ("get", "/admin/reference/industries"),
    ("get", "/admin/trash"),
    ("post", "/admin/trash/contact/1/restore"),
]


@pytest.mark.parametrize("method,url", ADMIN_URLS)
@pytest.mark.parametrize("role", [Role.LEADER, Role.MANAGER, Role.STAFF])
def test_admin_routes_refuse_other_roles(client, make_user, make_unit, login, role, method, url):
    login(make_user(role, units=[make_unit()]))
    response = getattr(client, method)(url)
    assert response.status_code == 403


@pytest.mark.parametrize("method,url", ADMIN_URLS)
def test_admin_routes_send_anonymous_to_login(client, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_every_admin_route_is_behind_the_gate(app, client, make_user, make_unit, login):
    """Even a route added later is refused to staff: the check sits on the blueprint."""
    login(make_user(Role.STAFF, units=[make_unit()]))
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")]
    assert len(rules) >= 15
    for rule in rules:
        url = rule.rule.replace("<kind>", "contact").replace("<int:", "<")
        for arg in rule.arguments:
            url = url.replace(f"<{arg}>", "1")
        method = "post" if "POST" in rule.methods and "GET" not in rule.methods else "get"
        assert getattr(client, method)(url).status_code == 403, rule.rule


def test_overview_shows_counts_and_links(as_admin, make_unit):
    make_unit("翠屏区")
    html = as_admin.get("/admin/").get_data(as_text=True)
    assert "Administration" in html
    assert 'data-count="admin.units">1<' in html
    assert 'data-count="admin.users">1<' in html
    assert "/admin/trash" in html


# -- users ---------------------------------------------------------------------------
def test_create_user_lowercases_email_and_can_log_in(as_admin, client, db, make_unit):
    unit = make_unit("叙州区")
    response = as_admin.post(
        "/admin/users/new",
        data={
            "email": "  Chen.Xiao@Example.TEST ",
            "name": "陈晓",
            "role": "staff",
            "units": [str(unit.id)],
            "locale": "en",
            "password": STRONG,
        },
    )
    assert response.status_code == 302
    user = db.session.execute(select(User).where(User.name == "陈晓")).scalar_one()
    assert user.email == "chen.xiao@example.test"
    assert [u.name for u in user.units] == ["叙州区"]
    assert user.locale == "en"
    assert user.password_hash != STRONG
    client.post("/logout")
    assert client.post("/login", data={"email": user.email, "password": STRONG}).status_code == 302


def test_create_user_with_generated_password_shows_it_once(as_admin, client, db):
    response = as_admin.post(
        "/admin/users/new",
        data={
            "email": "leader@example.test",
            "name": "王领导",
            "role": "leader",
            "locale": "zh_CN",
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "shown only once" in html
    start = html.index('id="generated-password">') + len('id="generated-password">')
    password = html[start : html.index("<", start)]
    assert len(password) >= 10
    # Not kept anywhere the admin could see it again.
    assert password not in as_admin.get("/admin/users").get_data(as_text=True)
    client.post("/logout")
    response = client.post("/login", data={"email": "leader@example.test", "password": password})
    assert response.status_code == 302


@pytest.mark.parametrize(
    "override,message",
    [
        ({"email": "ROOT@example.test"}, "A user with this email address already exists."),
        ({"password": "short"}, "The password must have at least 10 characters."),
        ({"units": []}, "Choose at least one unit"),
        ({"email": "not-an-email"}, "Enter a valid email address."),
    ],
)
def test_create_user_validation_saves_nothing(as_admin, db, make_unit, override, message):
    unit = make_unit()
    data = {
        "email": "new@example.test",
        "name": "新人",
        "role": "staff",
        "units": [str(unit.id)],
        "locale": "zh_CN",
        "password": STRONG,
    }
    data.update(override)
    before = _user_count(db)
    response = as_admin.post("/admin/users/new", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert _user_count(db) == before


def test_admin_and_leader_need_no_unit(db, admin, english):
    user = services.create_user(
        actor=admin, email="l@example.test", name="L", role=Role.LEADER, password=STRONG
    )
    assert user.units == []
    with pytest.raises(services.ServiceError):
        services.create_user(
            actor=admin, email="m@example.test", name="M", role=Role.MANAGER, password=STRONG
        )


def test_edit_user_changes_role_units_and_active(as_admin, db, make_user, make_unit):
    a, b = make_unit("江安县"), make_unit("长宁县")
    user = make_user(Role.STAFF, units=[a])
    response = as_admin.post(
        f"/admin/users/{user.id}/edit",
        data={
            "email": user.email,
            "name": "改名",
            "role": "manager",
            "units": [str(b.id)],
            "locale": "en",
            "version": str(user.version),
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.name, user.role, [u.name for u in user.units]) == (
        "改名",
        Role.MANAGER,
        ["长宁县"],
    )
    assert user.active is False  # the unchecked box deactivates


def test_edit_user_with_stale_version_is_refused(as_admin, db, make_user, make_unit):
    user = make_user(Role.STAFF, units=[make_unit()], name="原名")
    response = as_admin.post(
        f"/admin/users/{user.id}/edit",
        data={
            "email": user.email,
            "name": "新名",
            "role": "staff",
            "units": [str(user.units[0].id)],
            "locale": "zh_CN",
            "active": "y",
            "version": str(user.version - 1 if user.version > 1 else 99),
        },
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).name == "原名"


def test_edit_user_duplicate_email_saves_nothing(as_admin, db, make_user, make_unit):
    unit = make_unit()
    other = make_user(Role.STAFF, units=[unit], email="taken@example.test")
    user = make_user(Role.STAFF, units=[unit], name="原名")
    response = as_admin.post(
        f"/admin/users/{user.id}/edit",
        data={
            "email": "TAKEN@example.test",
            "name": "新名",
            "role": "staff",
            "units": [str(unit.id)],
            "locale": "zh_CN",
            "active": "y",
            "version": str(user.version),
        },
    )
    assert response.status_code == 200
    assert "already exists" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).name == "原名"
    assert other.id != user.id


def test_reset_password_ends_their_sessions(app, as_admin, db, make_user, make_unit):
    user = make_user(Role.STAFF, units=[make_unit()])
    theirs = app.test_client()
    theirs.post("/login", data={"email": user.email, "password": PASSWORD})
    assert theirs.get("/").status_code == 200

    response = as_admin.post(f"/admin/users/{user.id}/password", data={"password": "tiny"})
    assert response.status_code == 200
    assert "at least 10 characters" in response.get_data(as_text=True)
    assert theirs.get("/").status_code == 200  # nothing changed yet

    response = as_admin.post(f"/admin/users/{user.id}/password", data={"password": STRONG})
    assert response.status_code == 302
    assert theirs.get("/").status_code == 302  # signed out
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": user.email, "password": STRONG}).status_code == 302


def test_deactivate_user_signs_them_out_and_keeps_the_row(app, as_admin, db, make_user, make_unit):
    user = make_user(Role.STAFF, units=[make_unit()])
    theirs = app.test_client()
    theirs.post("/login", data={"email": user.email, "password": PASSWORD})
    response = as_admin.post(f"/admin/users/{user.id}/deactivate")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).active is False
    assert theirs.get("/").status_code == 302
    assert (
        app.test_client()
        .post("/login", data={"email": user.email, "password": PASSWORD})
        .status_code
        == 200
    )


def test_admin_cannot_deactivate_themselves(as_admin, admin, db):
    response = as_admin.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).active is True


def test_last_active_admin_cannot_be_removed(db, admin, make_user, english):
    other = make_user(Role.ADMIN)
    # With two admins, one may go ...
    services.deactivate_user(other, actor=admin)
    # ... but not the last one, neither by deactivation nor by a change of role.
    actor = make_user(Role.ADMIN, active=False)
    with pytest.raises(services.ServiceError, match="last active administrator"):
        services.deactivate_user(admin, actor=actor)
    with pytest.raises(services.ServiceError, match="last active administrator"):
        services.update_user(
            admin,
            actor=actor,
            expected_version=admin.version,
            name=admin.name,
            role=Role.LEADER,
            units=[],
            locale="en",
            active=True,
        )


def test_user_list_filters(as_admin, make_user, make_unit):
    a, b = make_unit("高县"), make_unit("珙县")
    make_user(Role.STAFF, units=[a], name="甲专员", email="jia@example.test")
    make_user(Role.MANAGER, units=[b], name="乙科长", email="yi@example.test")
    html = as_admin.get("/admin/users?role=manager").get_data(as_text=True)
    assert "乙科长" in html and "甲专员" not in html
    html = as_admin.get(f"/admin/users?unit={a.id}").get_data(as_text=True)
    assert "甲专员" in html and "乙科长" not in html
    html = as_admin.get("/admin/users?q=JIA").get_data(as_text=True)
    assert "甲专员" in html and "乙科长" not in html


# -- units ---------------------------------------------------------------------------
def test_unit_create_and_tree(as_admin, db, make_unit):
    bureau = make_unit("宜宾市投资促进局", kind=UnitKind.BUREAU)
    response = as_admin.post(
        "/admin/units/new",
        data={"name": "南溪区", "name_en": "Nanxi", "kind": "county", "parent_id": str(bureau.id)},
    )
    assert response.status_code == 302
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.name == "南溪区")).scalar_one()
    assert unit.parent_id == bureau.id
    assert unit.path == f"{bureau.path}{unit.id}/"
    html = as_admin.get("/admin/units").get_data(as_text=True)
    html = html[html.index("<table") :]
    assert html.index("宜宾市投资促进局") < html.index("南溪区")
    assert "padding-left: 1.5rem" in html  # indented one level
    assert "County / district" in html


def test_unit_duplicate_sibling_name_refused(as_admin, db, make_unit):
    bureau = make_unit("局", kind=UnitKind.BUREAU)
    make_unit("兴文县", parent=bureau)
    response = as_admin.post(
        "/admin/units/new", data={"name": "兴文县", "kind": "county", "parent_id": str(bureau.id)}
    )
    assert response.status_code == 200
    assert "already exists" in response.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(OrgUnit)).scalar_one() == 2


def test_unit_move_rewrites_paths(as_admin, db, make_unit):
    a = make_unit("甲局", kind=UnitKind.BUREAU)
    b = make_unit("乙局", kind=UnitKind.BUREAU)
    county = make_unit("屏山县", parent=a)
    park = make_unit("屏山园区", kind=UnitKind.PARK, parent=county)
    response = as_admin.post(
        f"/admin/units/{county.id}/edit",
        data={
            "name": "屏山县",
            "kind": "county",
            "parent_id": str(b.id),
            "is_active": "y",
            "version": str(county.version),
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(OrgUnit, county.id).path == f"/{b.id}/{county.id}/"
    assert db.session.get(OrgUnit, park.id).path == f"/{b.id}/{county.id}/{park.id}/"


def test_unit_cycle_refused(as_admin, db, make_unit):
    a = make_unit("上级", kind=UnitKind.BUREAU)
    child = make_unit("下级", parent=a)
    response = as_admin.post(
        f"/admin/units/{a.id}/edit",
        data={
            "name": "上级",
            "kind": "bureau",
            "parent_id": str(child.id),
            "is_active": "y",
            "version": str(a.version),
        },
    )
    assert response.status_code == 200
    assert "cannot be placed under itself" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(OrgUnit, a.id).parent_id is None
    assert db.session.get(OrgUnit, a.id).path == f"/{a.id}/"


def test_unit_deactivate_needs_children_deactivated_first(as_admin, db, make_unit):
    a = make_unit("上级", kind=UnitKind.BUREAU)
    child = make_unit("下级", parent=a)
    html = as_admin.post(f"/admin/units/{a.id}/deactivate", follow_redirects=True).get_data(
        as_text=True
    )
    assert "still has active sub-units" in html
    as_admin.post(f"/admin/units/{child.id}/deactivate")
    as_admin.post(f"/admin/units/{a.id}/deactivate")
    db.session.expire_all()
    assert not db.session.get(OrgUnit, a.id).is_active
    assert not db.session.get(OrgUnit, child.id).is_active


# -- reference lists ------------------------------------------------------------------
@pytest.mark.parametrize("kind,model", [("industries", Industry), ("chambers", Chamber)])
def test_reference_list_add_edit_deactivate(as_admin, db, kind, model):
    response = as_admin.post(
        f"/admin/reference/{kind}/new",
        data={"name": "浙商", "name_en": "Zhejiang", "is_active": "y"},
    )
    assert response.status_code == 302
    item = db.session.execute(select(model)).scalar_one()
    assert (item.name, item.is_active) == ("浙商", True)

    response = as_admin.post(
        f"/admin/reference/{kind}/new", data={"name": "浙商", "is_active": "y"}
    )
    assert "already on the list" in response.get_data(as_text=True)

    as_admin.post(
        f"/admin/reference/{kind}/{item.id}/edit",
        data={"name": "浙江商会", "name_en": "", "is_active": "y"},
    )
    as_admin.post(f"/admin/reference/{kind}/{item.id}/deactivate")
    db.session.expire_all()
    item = db.session.get(model, item.id)
    assert (item.name, item.name_en, item.is_active) == ("浙江商会", None, False)
    assert "浙江商会" in as_admin.get(f"/admin/reference/{kind}").get_data(as_text=True)


def test_unknown_reference_kind_is_404(as_admin):
    assert as_admin.get("/admin/reference/planets").status_code == 404


# -- trash -----------------------------------------------------------------------------
@pytest.fixture
def deleted_records(db, make_enterprise, make_unit, make_user):
    unit = make_unit()
    staff = make_user(Role.STAFF, units=[unit], name="删除人")
    enterprise = make_enterprise("四川丽豪半导体材料有限公司", units=[unit])
    contact = Contact(enterprise_id=enterprise.id, name="张经理")
    note = Note(enterprise_id=enterprise.id, body="老备注")
    visit = Visit(
        enterprise_id=enterprise.id,
        kind=VisitKind.DOOR_KNOCKING,
        visit_date=utcnow().date(),
        summary="敲门拜访",
        place="叙州区",
    )
    db.session.add_all([contact, note, visit])
    db.session.flush()
    now = utcnow()
    from datetime import timedelta

    for offset, record in enumerate([contact, note, visit]):
        record.deleted_at = now - timedelta(minutes=10 - offset)
        record.deleted_by_id = staff.id
    db.session.commit()
    return enterprise, contact, note, visit


def test_trash_lists_deleted_records_newest_first(as_admin, deleted_records):
    enterprise, contact, note, visit = deleted_records
    html = as_admin.get("/admin/trash").get_data(as_text=True)
    assert html.index("叙州区") < html.index("老备注") < html.index("张经理")
    assert "删除人" in html
    assert "四川丽豪半导体材料有限公司" in html
    html = as_admin.get("/admin/trash?kind=note").get_data(as_text=True)
    assert "老备注" in html and "张经理" not in html


def test_restore_brings_back_and_records_event(as_admin, admin, db, deleted_records):
    enterprise, contact, *_ = deleted_records
    response = as_admin.post(f"/admin/trash/contact/{contact.id}/restore")
    assert response.status_code == 302
    db.session.expire_all()
    contact = db.session.get(Contact, contact.id)
    assert contact.deleted_at is None and contact.deleted_by_id is None
    event = db.session.execute(
        select(TimelineEvent).where(TimelineEvent.kind == "contact.restored")
    ).scalar_one()
    assert (event.enterprise_id, event.subject_type, event.subject_id, event.actor_id) == (
        enterprise.id,
        "contact",
        contact.id,
        admin.id,
    )
    assert event.data["title"] == "张经理"
    html = as_admin.get("/admin/trash").get_data(as_text=True)
    assert "张经理 restored." in html  # the flash
    assert "张经理" not in html[html.index("<table") :]
    # Restoring again: no longer in the trash.
    assert as_admin.post(f"/admin/trash/contact/{contact.id}/restore").status_code == 404


def test_child_of_deleted_enterprise_waits_for_the_enterprise(as_admin, db, deleted_records):
    enterprise, contact, note, _ = deleted_records
    enterprise.deleted_at = utcnow()
    db.session.commit()
    html = as_admin.post(f"/admin/trash/note/{note.id}/restore", follow_redirects=True).get_data(
        as_text=True
    )
    assert "restore the enterprise first" in html
    db.session.expire_all()
    assert db.session.get(Note, note.id).deleted_at is not None

    as_admin.post(f"/admin/trash/enterprise/{enterprise.id}/restore")
    as_admin.post(f"/admin/trash/note/{note.id}/restore")
    db.session.expire_all()
    assert db.session.get(Enterprise, enterprise.id).deleted_at is None
    assert db.session.get(Note, note.id).deleted_at is None
    kinds = set(db.session.execute(select(TimelineEvent.kind)).scalars())
    assert {"enterprise.restored", "note.restored"} <= kinds


def test_restore_unknown_kind_is_404(as_admin):
    assert as_admin.post("/admin/trash/planet/1/restore").status_code == 404


def test_password_hash_fixture_sanity():
    assert hash_password(STRONG) != STRONG


def test_restoring_a_former_main_contact_keeps_one_main_contact(
    db, make_unit, make_user, make_enterprise
):
    from sqlalchemy import select

    from crm.contacts.services import create_contact, delete_contact
    from crm.models import Contact, Role, TimelineEvent
    from crm.trash import restore

    unit = make_unit("翠屏区")
    admin = make_user(Role.ADMIN)
    enterprise = make_enterprise("宜宾长盈精密技术有限公司", units=[unit])
    old_main = create_contact(enterprise, actor=admin, name="王经理", is_main=True)
    db.session.commit()
    delete_contact(old_main, actor=admin)
    create_contact(enterprise, actor=admin, name="李总", is_main=True)
    db.session.commit()

    restore(old_main, admin)
    db.session.commit()

    mains = db.session.execute(
        select(Contact.name).where(Contact.is_main.is_(True), Contact.deleted_at.is_(None))
    ).scalars()
    assert list(mains) == ["李总"]
    event = db.session.execute(
        select(TimelineEvent).where(TimelineEvent.kind == "contact.restored")
    ).scalar_one()
    assert event.data["changes"] == [{"field": "is_main", "old": True, "new": False}]
