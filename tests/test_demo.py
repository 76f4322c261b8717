"""Demo data: shape, markings, history, and that it only goes into an empty database."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select, text

from crm import trash
from crm.access import Access
from crm.demo import DEMO_MARK, DemoDataExists, is_demo_code, load_demo
from crm.enterprises.credit_code import is_valid
from crm.models import (
    Contact,
    Enterprise,
    EnterpriseIssue,
    FollowUp,
    FollowUpStatus,
    OrgUnit,
    Role,
    TimelineEvent,
    UnitKind,
    User,
    Visit,
)
from crm.visits.services import local_today

PASSWORD = "demo password 2023"


@pytest.fixture(autouse=True)
def _flatten_units(db):
    """conftest empties tables with one DELETE each; on SQLite the RESTRICT on
    org_unit.parent_id fires per row, so detach sub-units first."""
    yield
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE org_unit SET parent_id = NULL"))


@pytest.fixture
def demo(db):
    with force_locale("en"):
        accounts = load_demo(PASSWORD)
    db.session.commit()
    return accounts


def _count(db, model, *where) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _unit(db, name) -> OrgUnit:
    return db.session.execute(select(OrgUnit).where(OrgUnit.name == name)).scalar_one()


def test_accounts_cover_every_role(demo):
    roles = {role for _, role, _ in demo}
    assert roles == {Role.ADMIN, Role.LEADER, Role.MANAGER, Role.STAFF}
    emails = [email for email, _, _ in demo]
    assert "admin@demo.crm.local" in emails
    assert all(email.endswith("@demo.crm.local") for email in emails)
    managers = {tuple(units) for _, role, units in demo if role == Role.MANAGER}
    assert ("叙州区",) in managers and ("绿色新能源产业专班",) in managers


def test_bureau_tree(db, demo):
    yibin = _unit(db, "宜宾市投资促进局")
    counties = (
        db.session.execute(
            select(OrgUnit.name).where(
                OrgUnit.parent_id == yibin.id, OrgUnit.kind == UnitKind.COUNTY
            )
        )
        .scalars()
        .all()
    )
    assert len(counties) == 11
    assert {"翠屏区", "叙州区", "屏山县", "宜宾三江新区"} <= set(counties)
    park = _unit(db, "宜宾临港经济技术开发区")
    assert park.kind == UnitKind.PARK and park.path.startswith(yibin.path)
    meishan = _unit(db, "眉山市投资促进局")
    offices = (
        db.session.execute(
            select(OrgUnit.name).where(
                OrgUnit.parent_id == meishan.id, OrgUnit.kind == UnitKind.OUTBOUND_OFFICE
            )
        )
        .scalars()
        .all()
    )
    assert len(offices) == 7
    assert {
        "驻珠三角招商分局",
        "驻长三角招商分局",
        "驻京津冀招商分局",
        "驻东北招商分局",
        "驻成渝招商分局",
    } <= set(offices)
    assert _count(db, OrgUnit, OrgUnit.kind == UnitKind.TASK_FORCE) >= 5


def test_enterprises_are_marked_and_coded_as_demo(db, demo):
    enterprises = db.session.execute(select(Enterprise)).scalars().all()
    assert len(enterprises) >= 20
    names = {e.name for e in enterprises}
    assert {
        "四川丽豪半导体材料有限公司",
        "宜宾长盈精密技术有限公司",
        "内蒙古蒙牛乳业（集团）股份有限公司",
        "四川时代新能源科技有限公司",
    } <= names
    for enterprise in enterprises:
        assert enterprise.description.startswith(DEMO_MARK)
        assert is_valid(enterprise.credit_code) and is_demo_code(enterprise.credit_code)
        assert enterprise.units and enterprise.responsible is not None
    tags = {tag for e in enterprises for tag in e.tags}
    assert {
        "fortune_global_500",
        "china_top_500",
        "china_private_500",
        "is_listed",
        "is_foreign_invested",
        "is_settled",
        "is_reinvesting",
    } <= tags
    assert any(e.chamber is not None and e.chamber.name == "浙商" for e in enterprises)
    assert all(e.fortune_global_500_year == 2023 for e in enterprises if e.fortune_global_500_year)


def test_files_have_history(db, demo):
    assert _count(db, Contact) >= 20
    assert _count(db, Visit) >= 10
    assert _count(db, EnterpriseIssue) >= 5
    today = local_today()
    overdue = _count(
        db, FollowUp, FollowUp.status == FollowUpStatus.OPEN, FollowUp.due_date < today
    )
    upcoming = _count(
        db, FollowUp, FollowUp.status == FollowUpStatus.OPEN, FollowUp.due_date >= today
    )
    assert overdue >= 2 and upcoming >= 2
    assert _count(db, FollowUp, FollowUp.status == FollowUpStatus.DONE) >= 1
    lihao = db.session.execute(
        select(Enterprise).where(Enterprise.name == "四川丽豪半导体材料有限公司")
    ).scalar_one()
    kinds = set(
        db.session.execute(
            select(TimelineEvent.kind).where(TimelineEvent.enterprise_id == lihao.id)
        ).scalars()
    )
    assert {
        "enterprise.created",
        "contact.created",
        "visit.logged",
        "follow_up.created",
        "issue.created",
        "note.added",
        "note.deleted",
    } <= kinds
    # Every overdue follow-up is in the file too.
    for follow_up in db.session.execute(select(FollowUp)).scalars():
        assert (
            _count(
                db,
                TimelineEvent,
                TimelineEvent.subject_type == "follow_up",
                TimelineEvent.subject_id == follow_up.id,
            )
            >= 1
        )


def test_trash_has_something_to_restore(db, demo):
    items = trash.list_deleted()
    assert [item.kind for item in items] == ["note"]


def test_access_follows_the_demo_organisation(db, demo):
    def visible(email):
        user = db.session.execute(select(User).where(User.email == email)).scalar_one()
        return set(
            db.session.execute(
                Access(user).enterprises().with_only_columns(Enterprise.name)
            ).scalars()
        )

    xuzhou = visible("staff.xuzhou@demo.crm.local")
    assert "四川丽豪半导体材料有限公司" in xuzhou
    assert "内蒙古蒙牛乳业（集团）股份有限公司" not in xuzhou
    meishan = visible("manager.meishan@demo.crm.local")
    assert "内蒙古蒙牛乳业（集团）股份有限公司" in meishan
    assert "宜宾长盈精密技术有限公司" not in meishan
    assert len(visible("leader@demo.crm.local")) == _count(db, Enterprise)


def test_refuses_a_database_with_data(db, demo):
    before = _count(db, Enterprise)
    with force_locale("en"), pytest.raises(DemoDataExists):
        load_demo(PASSWORD)
    db.session.rollback()
    assert _count(db, Enterprise) == before


def test_refuses_a_weak_password_before_creating_anything(db):
    from crm.errors import ServiceError

    with force_locale("en"), pytest.raises(ServiceError, match="at least 10"):
        load_demo("short")
    db.session.rollback()
    assert _count(db, User) == 0 and _count(db, OrgUnit) == 0
