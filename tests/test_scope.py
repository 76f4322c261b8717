"""Enterprise.unit_paths, the denormalised key behind access.enterprise_scope, stays true."""

from __future__ import annotations

from sqlalchemy import select

from crm.access import Access
from crm.admin.units import move_unit
from crm.models import Enterprise, Role, UnitKind


def _visible(db, user) -> set[str]:
    return set(
        db.session.execute(Access(user).enterprises().with_only_columns(Enterprise.name)).scalars()
    )


def test_scope_follows_units_on_create_and_update(db, make_unit, make_user, make_enterprise):
    city = make_unit("宜宾市投资促进局", UnitKind.BUREAU)
    county_a = make_unit("翠屏区", parent=city)
    county_b = make_unit("叙州区", parent=city)
    park = make_unit("临港园区", UnitKind.PARK, parent=county_a)
    head = make_user(Role.MANAGER, [city])
    manager_a = make_user(Role.MANAGER, [county_a])
    staff_b = make_user(Role.STAFF, [county_b])

    enterprise = make_enterprise("宜宾长盈精密技术有限公司", units=[park])
    assert enterprise.unit_paths == f"|{park.path}|"
    assert _visible(db, head) == {"宜宾长盈精密技术有限公司"}
    assert _visible(db, manager_a) == {"宜宾长盈精密技术有限公司"}
    assert _visible(db, staff_b) == set()

    enterprise.units = [county_b]
    db.session.commit()
    assert _visible(db, manager_a) == set()
    assert _visible(db, staff_b) == {"宜宾长盈精密技术有限公司"}


def test_responsible_person_sees_their_enterprise_outside_their_units(
    db, make_unit, make_user, make_enterprise
):
    county_a = make_unit("翠屏区")
    county_b = make_unit("叙州区")
    staff_b = make_user(Role.STAFF, [county_b])
    make_enterprise("四川丽豪半导体材料有限公司", units=[county_a], responsible=staff_b)
    assert _visible(db, staff_b) == {"四川丽豪半导体材料有限公司"}


def test_moving_a_unit_moves_its_enterprises_scope(db, make_unit, make_user, make_enterprise):
    meishan = make_unit("眉山市投资促进局", UnitKind.BUREAU)
    yibin = make_unit("宜宾市投资促进局", UnitKind.BUREAU)
    office = make_unit("驻珠三角招商分局", UnitKind.OUTBOUND_OFFICE, parent=meishan)
    desk = make_unit("深圳工作组", UnitKind.OUTBOUND_OFFICE, parent=office)
    meishan_head = make_user(Role.MANAGER, [meishan])
    yibin_head = make_user(Role.MANAGER, [yibin])
    make_enterprise("深圳某电子科技有限公司", units=[desk])
    assert _visible(db, meishan_head) == {"深圳某电子科技有限公司"}

    move_unit(office, yibin)
    db.session.commit()

    stored = db.session.execute(select(Enterprise.unit_paths)).scalar_one()
    assert stored == f"|{db.session.get(type(desk), desk.id).path}|"
    assert _visible(db, meishan_head) == set()
    assert _visible(db, yibin_head) == {"深圳某电子科技有限公司"}
