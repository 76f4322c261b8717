"""Stage moves, milestone dates, exact amounts and who sees a project."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from crm.access import Access
from crm.clock import local_today
from crm.errors import DuplicateError, ServiceError, StaleEditError
from crm.models import (
    FundsEntry,
    FundsSource,
    Project,
    ProjectStage,
    ProjectStageChange,
    Role,
    TimelineEvent,
    UnitKind,
)
from crm.projects import lifecycle
from crm.projects.services import (
    change_stage,
    create_project,
    funds_total,
    record_funds,
    update_project,
)

D = Decimal


@pytest.fixture
def firm(app, make_unit, make_enterprise):
    county = make_unit("翠屏区", UnitKind.COUNTY)
    return make_enterprise("宜宾长盈精密技术有限公司", units=[county]), county


def _new(firm, stage=ProjectStage.RESERVE, on=date(2026, 1, 5), **fields):
    enterprise, county = firm
    fields.setdefault("name", "二期")
    return create_project(enterprise, actor=None, county=county, stage=stage, stage_on=on, **fields)


def _move(project, stage, on, reason=None):
    return change_stage(
        project,
        actor=None,
        expected_version=project.version,
        to_stage=stage,
        effective_on=on,
        reason=reason,
    )


def test_one_rung_at_a_time_is_regular_and_dates_each_milestone(app, db, firm):
    with app.test_request_context():
        project = _new(firm)
        for stage, day in [
            (ProjectStage.NEGOTIATION, date(2026, 2, 1)),
            (ProjectStage.SIGNED, date(2026, 3, 1)),
            (ProjectStage.LANDED, date(2026, 4, 1)),
            (ProjectStage.STARTED, date(2026, 5, 1)),
        ]:
            change = _move(project, stage, day)
            assert change.is_irregular is False
        db.session.commit()
        assert (project.signed_on, project.landed_on, project.started_on) == (
            date(2026, 3, 1),
            date(2026, 4, 1),
            date(2026, 5, 1),
        )
        assert project.producing_on is None
        assert project.stage_since == date(2026, 5, 1)


def test_skipping_needs_a_reason_and_dates_the_skipped_rungs(app, db, firm):
    with app.test_request_context():
        project = _new(firm, ProjectStage.NEGOTIATION)
        db.session.commit()
        with pytest.raises(ServiceError) as refused:
            _move(project, ProjectStage.STARTED, date(2026, 6, 30))
        assert refused.value.field == "reason"
        db.session.rollback()
        project = db.session.get(Project, project.id)
        assert project.stage == ProjectStage.NEGOTIATION
        change = _move(project, ProjectStage.STARTED, date(2026, 6, 30), "签约即开工")
        db.session.commit()
        assert change.is_irregular and change.reason == "签约即开工"
        assert project.signed_on == project.landed_on == project.started_on == date(2026, 6, 30)
        event = db.session.execute(
            select(TimelineEvent).where(TimelineEvent.kind == "project.stage_changed")
        ).scalar_one()
        assert event.data["irregular"] is True
        assert event.data["from_stage"] == "negotiation" and event.data["to_stage"] == "started"
        assert event.data["effective_on"] == "2026-06-30"


def test_moving_back_clears_the_milestones_above(app, db, firm):
    with app.test_request_context():
        project = _new(firm, ProjectStage.SIGNED, date(2026, 2, 1))
        _move(project, ProjectStage.LANDED, date(2026, 3, 1))
        db.session.commit()
        with pytest.raises(ServiceError):
            _move(project, ProjectStage.SIGNED, date(2026, 4, 1))
        db.session.rollback()
        project = db.session.get(Project, project.id)
        _move(project, ProjectStage.SIGNED, date(2026, 4, 1), "用地未落实")
        db.session.commit()
        assert project.signed_on == date(2026, 2, 1)
        assert project.landed_on is None


def test_termination_needs_a_reason_keeps_milestones_and_revival_is_irregular(app, db, firm):
    with app.test_request_context():
        project = _new(firm, ProjectStage.SIGNED, date(2026, 2, 1))
        db.session.commit()
        with pytest.raises(ServiceError) as refused:
            _move(project, ProjectStage.TERMINATED, date(2026, 3, 1))
        assert refused.value.field == "reason"
        db.session.rollback()
        project = db.session.get(Project, project.id)
        assert lifecycle.is_regular(ProjectStage.SIGNED, ProjectStage.TERMINATED)
        _move(project, ProjectStage.TERMINATED, date(2026, 3, 1), "投资方撤资")
        assert project.terminated_on == date(2026, 3, 1)
        assert project.signed_on == date(2026, 2, 1)
        assert project.termination_reason == "投资方撤资"
        change = _move(project, ProjectStage.SIGNED, date(2026, 5, 1), "重新洽谈成功")
        db.session.commit()
        assert change.is_irregular
        assert project.terminated_on is None and project.termination_reason is None


def test_dates_cannot_be_future_or_before_the_current_stage(app, db, firm):
    with app.test_request_context():
        project = _new(firm, ProjectStage.NEGOTIATION, date(2026, 3, 1))
        with pytest.raises(ServiceError) as early:
            _move(project, ProjectStage.SIGNED, date(2026, 2, 28))
        assert early.value.field == "effective_on"
        with pytest.raises(ServiceError) as future:
            _move(project, ProjectStage.SIGNED, local_today() + timedelta(days=1))
        assert future.value.field == "effective_on"
        with pytest.raises(ServiceError):
            _move(project, ProjectStage.NEGOTIATION, date(2026, 3, 2))  # already there
        # Back-dated (last Tuesday, say) is fine.
        _move(project, ProjectStage.SIGNED, local_today() - timedelta(days=2))


def test_stale_version_is_refused(app, db, firm):
    with app.test_request_context():
        project = _new(firm)
        db.session.commit()
        with pytest.raises(StaleEditError):
            change_stage(
                project,
                actor=None,
                expected_version=project.version - 1,
                to_stage=ProjectStage.NEGOTIATION,
                effective_on=date(2026, 2, 1),
            )
        with pytest.raises(StaleEditError):
            update_project(project, actor=None, expected_version="x", name="新名")


def test_replaying_the_history_gives_the_same_milestones(app, db, firm):
    with app.test_request_context():
        project = _new(firm, ProjectStage.RESERVE, date(2026, 1, 1))
        _move(project, ProjectStage.SIGNED, date(2026, 2, 1), "直接签约")
        _move(project, ProjectStage.LANDED, date(2026, 3, 1))
        _move(project, ProjectStage.SIGNED, date(2026, 4, 1), "退回")
        _move(project, ProjectStage.STARTED, date(2026, 5, 1), "跳过")
        _move(project, ProjectStage.TERMINATED, date(2026, 6, 1), "终止")
        db.session.commit()
        columns = ["stage", "stage_since", *lifecycle.MILESTONES.values(), "terminated_on"]
        kept = {c: getattr(project, c) for c in columns}
        history = db.session.execute(
            select(ProjectStageChange).where(ProjectStageChange.project_id == project.id)
        ).scalars()
        fresh = Project(name="x")
        lifecycle.replay(fresh, list(history))
        assert {c: getattr(fresh, c) for c in columns} == kept
        assert kept["landed_on"] == date(2026, 5, 1)  # re-reached after the move back
        assert fresh.termination_reason == "终止"


def test_amounts_are_exact_and_key_projects_derive_from_the_amount(app, db, firm):
    with app.test_request_context():
        project = _new(firm, contract_amount_wan=D("12345.6789"), fdi_usd_wan=D("0.0001"))
        key = _new(firm, name="三期", contract_amount_wan=D("100000"))
        db.session.commit()
        pid, kid = project.id, key.id
    db.session.expire_all()
    project = db.session.get(Project, pid)
    assert project.contract_amount_wan == D("12345.6789")
    assert project.fdi_usd_wan == D("0.0001")
    assert project.is_key is False and db.session.get(Project, kid).is_key is True
    stored = db.session.execute(
        text("SELECT contract_amount_yuan FROM project WHERE id = :id"), {"id": pid}
    ).scalar()
    assert stored == 123456789  # whole yuan: no float anywhere
    keys = db.session.execute(select(Project.id).where(Project.is_key)).scalars().all()
    assert keys == [kid]
    with app.test_request_context(), pytest.raises(ServiceError) as refused:
        _new(firm, name="四期", contract_amount_wan=D("1.23456"))
    assert refused.value.field == "contract_amount_wan"


def test_sums_of_many_amounts_are_exact(app, db, firm):
    with app.test_request_context():
        project = _new(firm, ProjectStage.SIGNED, date(2026, 1, 5))
        for month in range(1, 11):
            record_funds(
                project,
                actor=None,
                month=date(2026, month, 1),
                source=FundsSource.OUTSIDE_PROVINCE,
                amount_wan=D("0.1001"),
            )
        db.session.commit()
        assert funds_total(project) == D("1.0010")
        assert funds_total(project, until=date(2026, 3, 1)) == D("0.3003")


def test_funds_corrections_are_new_entries_for_the_same_month(app, db, firm):
    with app.test_request_context():
        project = _new(firm, ProjectStage.SIGNED, date(2026, 1, 5))
        entry = record_funds(
            project,
            actor=None,
            month=date(2026, 3, 17),
            source=FundsSource.OUTSIDE_CITY,
            amount_wan=D("800"),
        )
        assert entry.month == date(2026, 3, 1)
        with pytest.raises(ServiceError) as no_note:
            record_funds(
                project,
                actor=None,
                month=None,
                source=FundsSource.WITHIN_CITY,
                amount_wan=D("-80"),
                corrects=entry,
            )
        assert no_note.value.field == "note"
        fix = record_funds(
            project,
            actor=None,
            month=date(2026, 9, 1),
            source=FundsSource.WITHIN_CITY,
            amount_wan=D("-80"),
            corrects=entry,
            note="重复统计",
        )
        db.session.commit()
        assert (fix.month, fix.source, fix.corrects_id) == (entry.month, entry.source, entry.id)
        assert db.session.get(FundsEntry, entry.id).amount_wan == D("800")  # never edited
        assert funds_total(project) == D("720")
        kinds = db.session.execute(
            select(TimelineEvent.kind).where(TimelineEvent.kind.like("project.funds%"))
        ).scalars()
        assert sorted(kinds) == ["project.funds_corrected", "project.funds_recorded"]


def test_funds_need_a_signed_project_and_a_past_month(app, db, firm):
    with app.test_request_context():
        reserve = _new(firm)
        with pytest.raises(ServiceError):
            record_funds(
                reserve,
                actor=None,
                month=date(2026, 3, 1),
                source=FundsSource.WITHIN_CITY,
                amount_wan=D("1"),
            )
        signed = _new(firm, ProjectStage.SIGNED, date(2026, 1, 5), name="签约项目")
        with pytest.raises(ServiceError) as future:
            record_funds(
                signed,
                actor=None,
                month=local_today().replace(day=1) + timedelta(days=32),
                source=FundsSource.WITHIN_CITY,
                amount_wan=D("1"),
            )
        assert future.value.field == "month"


def test_platform_number_is_unique(app, db, firm):
    with app.test_request_context():
        first = _new(firm, platform_number="YB-2026-0001")
        db.session.commit()
        with pytest.raises(DuplicateError) as duplicate:
            _new(firm, name="另一个", platform_number="YB-2026-0001")
        assert duplicate.value.existing_id == first.id
        assert duplicate.value.field == "platform_number"


def test_edits_are_recorded_in_the_file_with_old_and_new(app, db, firm):
    with app.test_request_context():
        project = _new(firm, contract_amount_wan=D("100"))
        db.session.commit()
        update_project(
            project,
            actor=None,
            expected_version=project.version,
            contract_amount_wan=D("250.5"),
            name="二期扩建",
        )
        db.session.commit()
        event = db.session.execute(
            select(TimelineEvent).where(TimelineEvent.kind == "project.updated")
        ).scalar_one()
        assert event.enterprise_id == project.enterprise_id
        changes = {c["field"]: (c["old"], c["new"]) for c in event.data["changes"]}
        assert changes == {
            "contract_amount_wan": ("100", "250.5"),
            "name": ("二期", "二期扩建"),
        }


def test_who_sees_a_project(app, db, make_unit, make_user, make_enterprise):
    bureau = make_unit("宜宾市投资促进局", UnitKind.BUREAU)
    county_a = make_unit("翠屏区", UnitKind.COUNTY, parent=bureau)
    county_b = make_unit("叙州区", UnitKind.COUNTY, parent=bureau)
    task_force = make_unit("数字经济专班", UnitKind.TASK_FORCE, parent=bureau)
    firm = make_enterprise("宜宾长盈精密技术有限公司", units=[county_a])
    with app.test_request_context():
        project = create_project(firm, actor=None, name="二期", task_force=task_force)
        db.session.commit()
    users = {
        "county_a": make_user(Role.STAFF, [county_a]),
        "county_b": make_user(Role.STAFF, [county_b]),
        "task_force": make_user(Role.STAFF, [task_force]),
        "bureau": make_user(Role.MANAGER, [bureau]),
        "leader": make_user(Role.LEADER, []),
    }
    seen = {}
    for name, user in users.items():
        access = Access(user)
        visible = db.session.execute(access.projects()).scalars().all()
        seen[name] = (project in visible, access.project_in_scope(project))
    assert seen == {
        "county_a": (True, True),  # sees the enterprise
        "county_b": (False, False),
        "task_force": (True, True),  # the project is attached to the task force
        "bureau": (True, True),  # above both
        "leader": (True, True),
    }
    # Moving the project to county B's... the paths follow the units.
    with app.test_request_context():
        update_project(project, actor=None, expected_version=project.version, task_force=None)
        db.session.commit()
    assert project.unit_paths == ""
    assert not Access(users["task_force"]).project_in_scope(project)


def test_reporting_funds_is_progress_but_does_not_spoil_an_open_edit_form(app, db, firm):
    with app.test_request_context():
        project = _new(firm, ProjectStage.SIGNED, date(2026, 1, 5))
        db.session.commit()
        version = project.version
        record_funds(
            project,
            actor=None,
            month=date(2026, 2, 1),
            source=FundsSource.WITHIN_CITY,
            amount_wan=D("10"),
        )
        db.session.commit()
        db.session.expire_all()
        project = db.session.get(Project, project.id)
        assert project.last_progress_on == local_today()
        assert project.version == version
        update_project(project, actor=None, expected_version=version, name="二期（调整）")
        db.session.commit()
