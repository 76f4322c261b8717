"""The enterprise register: credit codes, duplicates, similar names, the form, locking, access."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.enterprises import services
from crm.enterprises.credit_code import complete
from crm.errors import DuplicateError, ServiceError, StaleEditError
from crm.models import Enterprise, EnterpriseGram, Industry, Role, TimelineEvent

MENGNIU = "内蒙古蒙牛乳业（集团）股份有限公司"


@pytest.fixture
def county(make_unit):
    return make_unit("翠屏区")


@pytest.fixture
def other_county(make_unit):
    return make_unit("南溪区")


@pytest.fixture
def staff(make_user, county):
    return make_user(Role.STAFF, [county], locale="en", name="张三")


@pytest.fixture
def manager(make_user, county):
    return make_user(Role.MANAGER, [county], locale="en", name="李经理")


def form_data(unit, responsible, code, name="宜宾长盈精密技术有限公司", **extra):
    data = {
        "credit_code": code,
        "name": name,
        "name_en": "",
        "region": "四川省宜宾市",
        "address": "",
        "industry": "0",
        "chamber": "0",
        "responsible": str(responsible.id),
        "units": [str(unit.id)],
        "description": "",
    }
    data.update(extra)
    return data


def events(db, enterprise, kind=None):
    stmt = select(TimelineEvent).where(TimelineEvent.enterprise_id == enterprise.id)
    if kind:
        stmt = stmt.where(TimelineEvent.kind == kind)
    return list(db.session.execute(stmt.order_by(TimelineEvent.id)).scalars())


def count_enterprises(db) -> int:
    return db.session.execute(select(func.count()).select_from(Enterprise)).scalar_one()


# -- credit codes -------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L"])
def test_known_real_codes_are_valid(app, code):
    with app.test_request_context():
        assert services.clean_credit_code(code) == code


def test_codes_are_normalised(app):
    with app.test_request_context():
        assert services.clean_credit_code(" 9135 0100-m000100y43 ") == "91350100M000100Y43"
        # Full-width characters from a Chinese input method.
        assert (
            services.clean_credit_code("９１１１００００６０００３７３４１Ｌ")
            == "91110000600037341L"
        )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("", "Enter the unified social credit code."),
        ("91350100M000100Y4", "has 18 characters; this one has 17"),
        ("91350100M000100Y431", "has 18 characters; this one has 19"),
        ("91350100MO00100Y43", "these characters are not allowed: O"),
        ("9135010*M000100Y43", "these characters are not allowed: *"),
        ("91350100M000100Y44", "The check character (the last one) does not fit"),
        ("91110000600037341X", "The check character (the last one) does not fit"),
    ],
)
def test_invalid_codes_say_what_is_wrong(app, code, expected):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(ServiceError) as info:
            services.clean_credit_code(code)
        assert info.value.field == "credit_code"
        assert expected in str(info.value.message)


def test_form_shows_the_credit_code_problem(client, login, staff, county, db):
    login(staff)
    response = client.post("/enterprises/new", data=form_data(county, staff, "91350100M000100Y44"))
    assert response.status_code == 200
    assert "The check character (the last one) does not fit" in response.get_data(as_text=True)
    assert count_enterprises(db) == 0


# -- duplicates and similar names -----------------------------------------------------------


def test_duplicate_code_is_refused_with_a_link(client, login, staff, county, make_enterprise, db):
    existing = make_enterprise(MENGNIU, units=[county], credit_code="91350100M000100Y43")
    login(staff)
    response = client.post(
        "/enterprises/new",
        data=form_data(county, staff, existing.credit_code.lower(), name="完全不同的企业有限公司"),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "already registered" in html
    assert f'href="/enterprises/{existing.id}"' in html
    assert count_enterprises(db) == 1


def test_duplicate_of_a_deleted_enterprise_says_so(
    client, login, staff, county, make_enterprise, db, credit_code
):
    code = credit_code()
    existing = make_enterprise("旧企业有限公司", units=[county], credit_code=code)
    services.delete_enterprise(existing, actor=None)
    db.session.commit()
    login(staff)
    response = client.post("/enterprises/new", data=form_data(county, staff, code))
    html = response.get_data(as_text=True)
    assert "was registered and then deleted" in html
    assert "旧企业有限公司" in html
    assert count_enterprises(db) == 1


def test_duplicate_code_in_the_service(make_enterprise, credit_code, county, db):
    code = credit_code()
    first = make_enterprise(units=[county], credit_code=code)
    with pytest.raises(DuplicateError) as info:
        services.create_enterprise(actor=None, name="另一家", credit_code=code, units=[county])
    assert info.value.existing_id == first.id


def test_duplicate_code_on_edit(make_enterprise, credit_code, county, db):
    first = make_enterprise(units=[county])
    second = make_enterprise(units=[county])
    with pytest.raises(DuplicateError):
        services.update_enterprise(
            second, actor=None, expected_version=second.version, credit_code=first.credit_code
        )


@pytest.mark.parametrize(
    ("a", "b", "similar"),
    [
        (MENGNIU, "蒙牛乳业有限公司", True),
        (MENGNIU, "内蒙古蒙牛乳业股份有限公司", True),
        ("宜宾长盈精密技术有限公司", "宜宾长盈精密技术（集团）有限公司", True),
        ("四川长虹电器股份有限公司", "四川长虹电器有限责任公司", True),
        ("宜宾长盈精密技术有限公司", "宜宾五粮液股份有限公司", False),
        ("四川长虹电器股份有限公司", "四川九洲电器集团有限责任公司", False),
    ],
)
def test_names_similar(a, b, similar):
    assert services.names_similar(a, b) is similar


def test_core_name_drops_brackets_and_legal_forms():
    assert services.core_name(MENGNIU) == "内蒙古蒙牛乳业"
    assert services.core_name("宜宾长盈精密技术(宜宾)有限公司") == "宜宾长盈精密技术"


def test_similar_name_warns_then_registers_when_confirmed(
    client, login, staff, county, make_enterprise, credit_code, db
):
    existing = make_enterprise(MENGNIU, units=[county])
    make_enterprise("宜宾五粮液股份有限公司", units=[county])
    login(staff)
    data = form_data(county, staff, credit_code(), name="蒙牛乳业有限公司")
    response = client.post("/enterprises/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "similar name" in html
    assert f'href="/enterprises/{existing.id}"' in html
    assert "宜宾五粮液" not in html
    assert "Register anyway" in html
    assert count_enterprises(db) == 2

    response = client.post("/enterprises/new", data={**data, "confirm_similar": "y"})
    assert response.status_code == 302
    assert count_enterprises(db) == 3


# -- create, edit, delete through the web ----------------------------------------------------


def test_staff_registers_an_enterprise(client, login, staff, county, credit_code, db):
    login(staff)
    assert client.get("/enterprises/new").status_code == 200
    code = credit_code()
    response = client.post(
        "/enterprises/new",
        data=form_data(
            county,
            staff,
            code,
            name_en="Yibin Changying Precision",
            fortune_global_500_year="",
            china_private_500_year="2023",
            is_listed="y",
        ),
    )
    assert response.status_code == 302
    enterprise = db.session.execute(select(Enterprise)).scalar_one()
    assert response.headers["Location"].endswith(f"/enterprises/{enterprise.id}")
    assert enterprise.credit_code == code
    assert enterprise.responsible_id == staff.id
    assert enterprise.created_by_id == staff.id
    assert [u.id for u in enterprise.units] == [county.id]
    assert enterprise.china_private_500_year == 2023 and enterprise.is_listed
    assert enterprise.fortune_global_500_year is None
    assert enterprise.name_pinyin == "yibinzhangyingjingmijishuyouxiangongsi"
    assert enterprise.name_initials == "ybzyjmjsyxgs"
    grams = set(
        db.session.execute(
            select(EnterpriseGram.gram).where(EnterpriseGram.enterprise_id == enterprise.id)
        ).scalars()
    )
    assert {"长", "长盈", "宜宾"} <= grams
    [created] = events(db, enterprise)
    assert created.kind == "enterprise.created" and created.actor_id == staff.id

    page = client.get(f"/enterprises/{enterprise.id}").get_data(as_text=True)
    assert "Enterprise registered" in page
    assert "China Private Top 500 2023" in page


def test_at_least_one_unit_is_required(client, login, staff, county, credit_code, db):
    login(staff)
    data = form_data(county, staff, credit_code())
    data["units"] = []
    response = client.post("/enterprises/new", data=data)
    assert response.status_code == 200
    assert "Choose at least one unit." in response.get_data(as_text=True)
    assert count_enterprises(db) == 0


def test_staff_may_not_choose_another_units(
    client, login, staff, county, other_county, credit_code, db
):
    login(staff)
    response = client.post("/enterprises/new", data=form_data(other_county, staff, credit_code()))
    assert response.status_code == 200
    assert count_enterprises(db) == 0
    # The service refuses it too, whatever the form offered.
    with pytest.raises(ServiceError) as info:
        services.create_enterprise(
            actor=staff, name="某企业", credit_code=credit_code(), units=[other_county]
        )
    assert info.value.field == "units"


def test_only_managers_assign_someone_else(make_user, county, credit_code, staff, manager, db):
    colleague = make_user(Role.STAFF, [county])
    with pytest.raises(ServiceError) as info:
        services.create_enterprise(
            actor=staff,
            name="某企业",
            credit_code=credit_code(),
            units=[county],
            responsible=colleague,
        )
    assert info.value.field == "responsible"
    enterprise = services.create_enterprise(
        actor=manager,
        name="某企业",
        credit_code=credit_code(),
        units=[county],
        responsible=colleague,
    )
    assert enterprise.responsible_id == colleague.id
    with pytest.raises(ServiceError):
        services.update_enterprise(
            enterprise, actor=staff, expected_version=enterprise.version, responsible=staff
        )
    db.session.rollback()


def test_manager_edits_and_the_file_shows_the_changes(
    client, login, manager, staff, county, make_unit, make_enterprise, db
):
    park = make_unit("临港经开区", parent=county)
    industry = Industry(name="新能源", name_en="New energy")
    db.session.add(industry)
    db.session.commit()
    enterprise = make_enterprise("宜宾长盈精密技术有限公司", units=[county], actor=manager)
    login(manager)
    response = client.get(f"/enterprises/{enterprise.id}/edit")
    assert response.status_code == 200
    assert 'name="version" type="hidden" value="1"' in response.get_data(as_text=True)

    data = form_data(
        county,
        staff,
        enterprise.credit_code,
        name="宜宾长盈精密技术股份有限公司",
        industry=str(industry.id),
        is_settled="y",
        version="1",
    )
    data["units"] = [str(county.id), str(park.id)]
    response = client.post(f"/enterprises/{enterprise.id}/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)

    db.session.expire_all()
    enterprise = db.session.get(Enterprise, enterprise.id)
    assert enterprise.name == "宜宾长盈精密技术股份有限公司"
    assert enterprise.industry_id == industry.id
    assert enterprise.responsible_id == staff.id
    assert enterprise.is_settled
    assert enterprise.version == 2
    [updated] = events(db, enterprise, "enterprise.updated")
    changes = {c["field"]: (c["old"], c["new"]) for c in updated.data["changes"]}
    assert changes["industry"] == (None, "新能源")
    assert changes["responsible"] == ("李经理", "张三")
    assert changes["units"] == (["翠屏区"], sorted(["翠屏区", "临港经开区"]))
    assert changes["is_settled"] == (False, True)
    assert "address" not in changes and "description" not in changes

    page = client.get(f"/enterprises/{enterprise.id}").get_data(as_text=True)
    assert "Enterprise details changed" in page
    assert "Industry:</span> <del" in page and "新能源</ins>" in page
    assert "Responsible staff:" in page and "李经理</del>" in page and "张三</ins>" in page
    assert "Settled here:" in page and 'No</del> → <ins class="text-break">Yes' in page
    # The search index follows the new name.
    assert db.session.execute(
        select(EnterpriseGram).where(
            EnterpriseGram.enterprise_id == enterprise.id, EnterpriseGram.gram == "股份"
        )
    ).scalar_one()


def test_edit_keeps_units_the_editor_cannot_see(
    client, login, staff, county, other_county, make_enterprise, db
):
    enterprise = make_enterprise(units=[county, other_county], responsible=staff)
    login(staff)
    page = client.get(f"/enterprises/{enterprise.id}/edit").get_data(as_text=True)
    assert "南溪区" in page  # listed as kept, not selectable
    data = form_data(county, staff, enterprise.credit_code, name=enterprise.name, version="1")
    assert client.post(f"/enterprises/{enterprise.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert {u.id for u in db.session.get(Enterprise, enterprise.id).units} == {
        county.id,
        other_county.id,
    }


def test_stale_edit_is_refused(client, login, staff, county, make_enterprise, db):
    enterprise = make_enterprise("原来的名字有限公司", units=[county], responsible=staff)
    login(staff)
    client.get(f"/enterprises/{enterprise.id}/edit")
    # Someone else saves first.
    services.update_enterprise(enterprise, actor=None, expected_version=1, region="成都市")
    db.session.commit()
    data = form_data(county, staff, enterprise.credit_code, name="我的修改有限公司", version="1")
    response = client.post(f"/enterprises/{enterprise.id}/edit", data=data)
    assert response.status_code == 409
    assert "changed by someone else" in response.get_data(as_text=True)
    db.session.expire_all()
    enterprise = db.session.get(Enterprise, enterprise.id)
    assert enterprise.name == "原来的名字有限公司"
    assert enterprise.region == "成都市"
    assert enterprise.version == 2
    assert len(events(db, enterprise, "enterprise.updated")) == 1


def test_stale_version_in_the_service(make_enterprise, county):
    enterprise = make_enterprise(units=[county])
    with pytest.raises(StaleEditError):
        services.update_enterprise(enterprise, actor=None, expected_version=7, region="x")


def test_unchanged_save_records_nothing(make_enterprise, county, db):
    enterprise = make_enterprise(units=[county], region="宜宾")
    services.update_enterprise(enterprise, actor=None, expected_version=1, region=" 宜宾 ")
    db.session.commit()
    assert enterprise.version == 1
    assert events(db, enterprise, "enterprise.updated") == []


def test_manager_deletes_and_admin_restores(client, login, manager, county, make_enterprise, db):
    enterprise = make_enterprise(units=[county])
    login(manager)
    response = client.post(f"/enterprises/{enterprise.id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    enterprise = db.session.get(Enterprise, enterprise.id)
    assert enterprise.deleted_at is not None and enterprise.deleted_by_id == manager.id
    assert len(events(db, enterprise, "enterprise.deleted")) == 1
    assert client.get(f"/enterprises/{enterprise.id}").status_code == 404
    assert enterprise.name not in client.get("/enterprises/").get_data(as_text=True)

    services.restore_enterprise(enterprise, actor=None)
    db.session.commit()
    assert enterprise.deleted_at is None
    assert len(events(db, enterprise, "enterprise.restored")) == 1
    assert client.get(f"/enterprises/{enterprise.id}").status_code == 200


# -- access ---------------------------------------------------------------------------------------


def test_staff_of_another_unit_gets_404(
    client, login, make_user, other_county, county, make_enterprise, credit_code
):
    enterprise = make_enterprise(units=[county])
    outsider = make_user(Role.STAFF, [other_county])
    login(outsider)
    assert client.get(f"/enterprises/{enterprise.id}").status_code == 404
    assert client.get(f"/enterprises/{enterprise.id}/edit").status_code == 404
    assert client.get(f"/enterprises/{enterprise.id}/dossier").status_code == 404
    data = form_data(county, outsider, enterprise.credit_code, version="1")
    assert client.post(f"/enterprises/{enterprise.id}/edit", data=data).status_code == 404


def test_leader_reads_but_may_not_change(
    client, login, make_user, county, make_enterprise, credit_code, db
):
    enterprise = make_enterprise(units=[county])
    leader = make_user(Role.LEADER)
    login(leader)
    assert client.get(f"/enterprises/{enterprise.id}").status_code == 200
    assert client.get("/enterprises/").status_code == 200
    data = form_data(county, leader, credit_code(), name="新企业有限公司")
    assert client.post("/enterprises/new", data=data).status_code == 403
    data = form_data(county, leader, enterprise.credit_code, name="改名有限公司", version="1")
    assert client.post(f"/enterprises/{enterprise.id}/edit", data=data).status_code == 403
    assert client.post(f"/enterprises/{enterprise.id}/delete").status_code == 403
    assert count_enterprises(db) == 1


def test_staff_may_not_delete(client, login, staff, county, make_enterprise, db):
    enterprise = make_enterprise(units=[county])
    login(staff)
    assert client.post(f"/enterprises/{enterprise.id}/delete").status_code == 403
    db.session.expire_all()
    assert db.session.get(Enterprise, enterprise.id).deleted_at is None
    page = client.get(f"/enterprises/{enterprise.id}").get_data(as_text=True)
    assert "Delete enterprise" not in page


def test_code_fixture_makes_valid_codes(credit_code):
    code = credit_code()
    assert complete(code[:17]) == code
