"""Demo data: shape, markings, history, and that it only goes into an empty database."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select, text

from crm import trash
from crm.access import Access
from crm.demo import DEMO_MARK, DemoDataExists, is_demo_code, load_demo
from crm.enterprises.credit_code import is_valid
from crm.models import (
    Contact,
    CountingRule,
    Enterprise,
    EnterpriseIssue,
    FollowUp,
    FollowUpStatus,
    FundsEntry,
    FundsSource,
    OrgUnit,
    Policy,
    PolicyStatus,
    Project,
    ProjectStage,
    ProjectStageChange,
    Role,
    Target,
    TimelineEvent,
    UnitKind,
    User,
    Visit,
)
from crm.projects import figures, lifecycle
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


# -- projects, funds, policies, targets (issue 3) ------------------------------------
def _projects(db) -> list[Project]:
    return list(db.session.execute(select(Project).order_by(Project.id)).scalars())


def test_projects_cover_the_whole_ladder_across_units(db, demo):
    projects = _projects(db)
    assert len(projects) >= 30
    assert {p.stage for p in projects} == set(ProjectStage)
    assert len({p.county_id for p in projects if p.county_id}) >= 8
    assert len({p.task_force_id for p in projects if p.task_force_id}) >= 5
    assert sum(1 for p in projects if p.is_key) >= 5
    assert any(p.outbound_office_id and p.outbound_role for p in projects)
    assert any(p.fdi_usd_wan for p in projects)
    for project in projects:
        assert project.enterprise.description.startswith(DEMO_MARK)
        assert project.deleted_at is None
    _check_stage_histories(db)
    _check_funds_policies_targets_and_rule(db)


def _check_stage_histories(db):
    """Back-dated through the service, and the stored milestones are what the history gives."""
    today = local_today()
    for project in _projects(db):
        changes = list(
            db.session.execute(
                select(ProjectStageChange)
                .where(ProjectStageChange.project_id == project.id)
                .order_by(ProjectStageChange.effective_on, ProjectStageChange.id)
            ).scalars()
        )
        assert changes and changes[0].from_stage is None
        dates = [c.effective_on for c in changes]
        assert dates == sorted(dates) and dates[-1] <= today
        plain = SimpleNamespace(**{column: None for column in lifecycle.MILESTONES.values()})
        lifecycle.replay(plain, changes)
        assert plain.stage == project.stage and plain.stage_since == project.stage_since
        for column in [*lifecycle.MILESTONES.values(), "terminated_on"]:
            assert getattr(plain, column) == getattr(project, column), (project.name, column)
        for change in changes:
            if change.is_irregular or change.to_stage == ProjectStage.TERMINATED:
                assert change.reason
    changes = db.session.execute(select(ProjectStageChange)).scalars().all()
    assert any(c.effective_on.year < today.year for c in changes)
    assert sum(1 for c in changes if c.is_irregular) >= 2
    lihao = db.session.execute(
        select(Enterprise).where(Enterprise.name == "四川丽豪半导体材料有限公司")
    ).scalar_one()
    kinds = set(
        db.session.execute(
            select(TimelineEvent.kind).where(TimelineEvent.enterprise_id == lihao.id)
        ).scalars()
    )
    assert {"project.created", "project.stage_changed", "project.funds_recorded"} <= kinds


def _check_funds_policies_targets_and_rule(db):
    entries = db.session.execute(select(FundsEntry)).scalars().all()
    assert len(entries) >= 50
    assert {e.source for e in entries} == set(FundsSource)
    corrections = [e for e in entries if e.corrects_id is not None]
    assert len(corrections) == 1
    correction = corrections[0]
    assert correction.amount_wan < 0 and correction.note
    assert correction.corrects.month == correction.month
    for entry in entries:
        project = db.session.get(Project, entry.project_id)
        assert project.signed_on is not None and entry.month <= local_today()

    policies = db.session.execute(select(Policy)).scalars().all()
    assert len(policies) >= 5
    clawed = [p for p in policies if p.status == PolicyStatus.CLAWED_BACK]
    assert len(clawed) == 1 and clawed[0].project is not None
    assert {p.status for p in policies} >= {PolicyStatus.APPROVED, PolicyStatus.HONOURED}

    year = local_today().year
    targets = db.session.execute(select(Target).where(Target.year == year)).scalars().all()
    kinds = [t.unit.kind for t in targets]
    assert kinds.count(UnitKind.COUNTY) == 11
    assert kinds.count(UnitKind.TASK_FORCE) >= 6
    rule = db.session.execute(select(CountingRule).where(CountingRule.year == year)).scalar_one()
    assert (rule.landing_rate_goal_pct, rule.start_rate_goal_pct) == (70, 35)


def test_figures_and_the_opportunity_list_have_something_to_show(db, demo, client):
    today = local_today()
    period = figures.Period.containing(today)
    counties = figures.ranking(period, UnitKind.COUNTY)
    assert len(counties) == 11 and counties[0].rank == 1
    assert counties[0].figures.signed > 0 and counties[0].figures.score is not None
    task_forces = figures.ranking(period, UnitKind.TASK_FORCE)
    assert any(row.figures.signed for row in task_forces)
    total = figures.total_figures(period)
    assert total.signed >= 5
    assert total.landing_rate is not None and total.start_rate is not None
    assert total.out_of_province_funds_wan > 0
    counts = figures.overview(None, figures.Period.containing(today), today)
    stalled, key = counts.stalled_total, counts.key_total
    assert stalled >= 3 and key >= 5

    # The public list: the promoted reserve projects, never their enterprises.
    promoted = db.session.execute(select(Project).where(Project.is_promoted.is_(True))).scalars()
    promoted = list(promoted)
    assert 3 <= len(promoted) <= 5
    assert all(p.stage == ProjectStage.RESERVE and p.public_fields for p in promoted)
    response = client.get("/opportunities")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for project in promoted:
        assert project.name in html
        assert project.enterprise.name not in html
        assert client.get(f"/opportunities/{project.id}").status_code == 200
