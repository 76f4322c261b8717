"""The enterprise-issue workflow (诉求): steps, deadlines, callbacks, reassignment, figures."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.access import Access
from crm.errors import ServiceError, StaleEditError
from crm.issues import figures as issue_figures
from crm.issues import services as issue_services
from crm.issues import workflow
from crm.models import (
    EnterpriseIssue,
    IssueCategory,
    IssueRule,
    IssueStatus,
    IssueStep,
)
from crm.models.base import utcnow
from tests.helpers import count, events, two_counties


@pytest.fixture
def world(db, make_unit, make_user, make_enterprise):
    people = two_counties(make_unit, make_user, manager=True)
    return {
        **people,
        "ent_a": make_enterprise(
            "宜宾新能源有限公司", units=[people["county_a"]], responsible=people["staff"]
        ),
    }


def new_issue(db, world, title="二期项目用地指标", category=IssueCategory.LAND, unit=None):
    issue = issue_services.create_issue(
        world["ent_a"],
        actor=world["staff"],
        category=category,
        title=title,
        unit=unit or world["county_a"],
    )
    db.session.commit()
    return issue


def step(db, issue, verb, **kwargs):
    kwargs.setdefault("actor", None)
    result = verb(issue, expected_version=issue.version, **kwargs)
    db.session.commit()
    return result


def walk_to_resolved(db, issue, actor):
    step(db, issue, workflow.accept, actor=actor)
    step(db, issue, workflow.start, actor=actor, note="协调供电局增容")
    step(db, issue, workflow.resolve, actor=actor, note="已完成增容")


def minutes_between(later, earlier) -> float:
    return (later - earlier).total_seconds() / 60


# -- services ------------------------------------------------------------------------------
def test_whole_path_through_services(db, world):
    staff = world["staff"]
    issue = new_issue(db, world)
    assert issue.status == IssueStatus.NEW
    # Default rule (江门): respond within 60 minutes of logging.
    assert minutes_between(issue.step_due_at, issue.created_at) == pytest.approx(60)

    accepted = step(db, issue, workflow.accept, actor=staff)
    assert issue.status == IssueStatus.ACCEPTED and issue.accepted_at == accepted.at
    assert minutes_between(issue.step_due_at, accepted.at) == pytest.approx(24 * 60)

    started = step(db, issue, workflow.start, actor=staff, note="协调国土部门调整用地指标")
    assert issue.status == IssueStatus.IN_PROGRESS
    assert minutes_between(issue.step_due_at, started.at) == pytest.approx(7 * 24 * 60)

    resolved = step(db, issue, workflow.resolve, actor=staff, note="指标已落实")
    assert issue.status == IssueStatus.RESOLVED and issue.resolved_at == resolved.at
    assert issue.step_due_at is None

    step(db, issue, workflow.callback, actor=staff, satisfaction=5, comment="很满意")
    assert issue.status == IssueStatus.CALLBACK and issue.satisfaction == 5
    assert issue.step_due_at is None

    closed = step(db, issue, workflow.close, actor=staff)
    assert issue.status == IssueStatus.CLOSED and issue.closed_at == closed.at
    assert issue.step_due_at is None and issue.reopened_count == 0

    steps = workflow.steps(issue)
    assert [(s.from_status, s.to_status) for s in steps] == [
        (IssueStatus.NEW, IssueStatus.ACCEPTED),
        (IssueStatus.ACCEPTED, IssueStatus.IN_PROGRESS),
        (IssueStatus.IN_PROGRESS, IssueStatus.RESOLVED),
        (IssueStatus.RESOLVED, IssueStatus.CALLBACK),
        (IssueStatus.CALLBACK, IssueStatus.CLOSED),
    ]
    # Each step keeps the deadline it had; none was late.
    assert [s.due_at is not None for s in steps] == [True, True, True, False, False]
    assert not any(s.late for s in steps)
    assert steps[1].note == "协调国土部门调整用地指标"
    assert steps[3].satisfaction == 5 and steps[3].note == "很满意"
    recorded = events(db, "issue.step", issue.id)
    assert [(e.data["from"], e.data["to"]) for e in recorded] == [
        ("new", "accepted"),
        ("accepted", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "callback"),
        ("callback", "closed"),
    ]
    assert recorded[3].data["satisfaction"] == 5
    assert recorded[1].data["text"] == "协调国土部门调整用地指标"


@pytest.mark.parametrize("score", [1, 2])
def test_unsatisfied_callback_reopens(db, world, score):
    issue = new_issue(db, world)
    walk_to_resolved(db, issue, world["staff"])
    callback = step(
        db, issue, workflow.callback, actor=world["staff"], satisfaction=score, comment="没解决"
    )
    assert issue.status == IssueStatus.IN_PROGRESS
    assert issue.reopened_count == 1 and issue.satisfaction == score
    assert issue.resolved_at is None
    # Back in progress: resolving is due again, counted from the callback.
    assert minutes_between(issue.step_due_at, callback.at) == pytest.approx(7 * 24 * 60)
    # Not closable now; it goes round again.
    with pytest.raises(ServiceError):
        workflow.close(issue, actor=None, expected_version=issue.version)
    db.session.rollback()
    step(db, issue, workflow.resolve, note="再次处理")
    step(db, issue, workflow.callback, satisfaction=3)
    assert issue.status == IssueStatus.CALLBACK and issue.reopened_count == 1
    step(db, issue, workflow.close)
    assert issue.status == IssueStatus.CLOSED


def test_illegal_moves_are_refused_and_nothing_saved(db, world):
    issue = new_issue(db, world)
    steps_before, events_before = count(db, IssueStep), len(events(db, "issue.step"))
    for verb, kwargs, field in [
        (workflow.start, {"note": "方案"}, "action"),
        (workflow.resolve, {"note": "已办"}, "action"),
        (workflow.close, {}, "action"),
        (workflow.callback, {"satisfaction": 5}, "satisfaction"),
    ]:
        with pytest.raises(ServiceError) as caught:
            verb(issue, actor=None, expected_version=issue.version, **kwargs)
        assert caught.value.field == field
        db.session.rollback()
    step(db, issue, workflow.accept)
    # Start needs the proposed solution, resolve a note, callback a score 1–5.
    with pytest.raises(ServiceError) as caught:
        workflow.start(issue, actor=None, expected_version=issue.version, note="  ")
    assert caught.value.field == "note"
    db.session.rollback()
    step(db, issue, workflow.start, note="方案")
    with pytest.raises(ServiceError) as caught:
        workflow.resolve(issue, actor=None, expected_version=issue.version, note="")
    assert caught.value.field == "note"
    db.session.rollback()
    step(db, issue, workflow.resolve, note="已办")
    for bad in (None, "", 0, 6, "x"):
        with pytest.raises(ServiceError) as caught:
            workflow.callback(issue, actor=None, expected_version=issue.version, satisfaction=bad)
        assert caught.value.field == "satisfaction"
        db.session.rollback()
    assert issue.status == IssueStatus.RESOLVED
    assert count(db, IssueStep) == steps_before + 3
    assert len(events(db, "issue.step")) == events_before + 3
    with pytest.raises(ServiceError) as caught:
        workflow.transition(issue, "jump", actor=None, expected_version=issue.version)
    assert caught.value.field == "action"


def test_stale_version_is_refused(db, world):
    issue = new_issue(db, world)
    old = issue.version
    step(db, issue, workflow.accept)
    with pytest.raises(StaleEditError):
        workflow.start(issue, actor=None, expected_version=old, note="方案")
    db.session.rollback()
    assert issue.status == IssueStatus.ACCEPTED


def test_deadlines_follow_the_rules(db, world):
    workflow.save_rule(
        IssueCategory.POWER,
        expected_version=None,
        respond_minutes=30,
        solution_minutes=120,
        close_minutes=2880,
    )
    db.session.commit()
    power = new_issue(db, world, "供电容量不足", category=IssueCategory.POWER)
    land = new_issue(db, world, "用地", category=IssueCategory.LAND)
    assert minutes_between(power.step_due_at, power.created_at) == pytest.approx(30)
    assert minutes_between(land.step_due_at, land.created_at) == pytest.approx(60)
    accepted = step(db, power, workflow.accept)
    assert minutes_between(power.step_due_at, accepted.at) == pytest.approx(120)
    # The admin tightens the rule: the next step's deadline follows it.
    rule = db.session.execute(
        select(IssueRule).where(IssueRule.category == IssueCategory.POWER)
    ).scalar_one()
    workflow.save_rule(
        IssueCategory.POWER,
        expected_version=rule.version,
        respond_minutes=30,
        solution_minutes=120,
        close_minutes=1440,
    )
    db.session.commit()
    started = step(db, power, workflow.start, note="方案")
    assert minutes_between(power.step_due_at, started.at) == pytest.approx(1440)
    # A stale rule form and a non-positive number are refused.
    with pytest.raises(StaleEditError):
        workflow.save_rule(
            IssueCategory.POWER,
            expected_version=rule.version - 1,
            respond_minutes=1,
            solution_minutes=1,
            close_minutes=1,
        )
    db.session.rollback()
    with pytest.raises(ServiceError) as caught:
        workflow.save_rule(
            IssueCategory.LAND,
            expected_version=None,
            respond_minutes=0,
            solution_minutes=1,
            close_minutes=1,
        )
    assert caught.value.field == "respond_minutes"
    db.session.rollback()


def test_reassign_service(db, world):
    issue = new_issue(db, world)
    step(
        db,
        issue,
        workflow.reassign,
        actor=world["manager"],
        assignee=world["colleague"],
        unit=world["county_b"],
        reason="属南溪区管辖",
    )
    assert issue.assignee_id == world["colleague"].id and issue.unit_id == world["county_b"].id
    assert issue.status == IssueStatus.NEW  # a reassignment is not a step forward
    event = events(db, "issue.reassigned", issue.id)[-1]
    assert {c["field"] for c in event.data["changes"]} == {"assignee", "unit"}
    assert event.data["text"] == "属南溪区管辖"
    with pytest.raises(ServiceError) as caught:
        workflow.reassign(
            issue,
            actor=None,
            expected_version=issue.version,
            assignee=world["colleague"],
            unit=world["county_b"],
            reason="again",
        )
    assert caught.value.field == "assignee"
    db.session.rollback()
    with pytest.raises(ServiceError) as caught:
        workflow.reassign(
            issue, actor=None, expected_version=issue.version, assignee=None, unit=None, reason=""
        )
    assert caught.value.field == "reason"
    db.session.rollback()


# -- figures -------------------------------------------------------------------------------
def test_figures_hand_computed(db, world, app):
    staff = world["staff"]
    county_a, county_b = world["county_a"], world["county_b"]
    on_time = new_issue(db, world, "准时办结")
    late = new_issue(db, world, "逾期办结")
    reopened = new_issue(db, world, "不满意")
    elsewhere = new_issue(db, world, "南溪的诉求", unit=county_b)

    walk_to_resolved(db, on_time, staff)
    step(db, on_time, workflow.callback, satisfaction=5)
    step(db, on_time, workflow.close)

    step(db, late, workflow.accept)
    step(db, late, workflow.start, note="方案")
    late.step_due_at = utcnow() - timedelta(hours=1)  # resolving was due an hour ago
    db.session.commit()
    step(db, late, workflow.resolve, note="已办")
    step(db, late, workflow.callback, satisfaction=3)
    step(db, late, workflow.close)

    walk_to_resolved(db, reopened, staff)
    step(db, reopened, workflow.callback, satisfaction=1)

    step(db, elsewhere, workflow.accept)

    # Time to close, from logging: 10 h and 30 h -> median 20 h.
    on_time.created_at = on_time.closed_at - timedelta(hours=10)
    late.created_at = late.closed_at - timedelta(hours=30)
    db.session.commit()

    now = utcnow()
    result = issue_figures.issue_figures(
        Access(world["leader"]).enterprise_scope(),
        now - timedelta(days=1),
        now + timedelta(days=1),
    )
    a = result[county_a.id]
    assert (a.accepted, a.closed, a.closed_on_time) == (3, 2, 1)
    assert a.median_hours == Decimal("20.0")
    assert (a.callbacks, a.satisfied) == (3, 1)
    assert a.satisfaction_rate == Decimal("0.3333")
    assert a.on_time_rate == Decimal("0.5000")
    b = result[county_b.id]
    assert (b.accepted, b.closed, b.callbacks, b.median_hours) == (1, 0, 0, None)

    # A third closed issue (odd count): the middle one.
    third = new_issue(db, world, "第三件")
    walk_to_resolved(db, third, staff)
    step(db, third, workflow.callback, satisfaction=4)
    step(db, third, workflow.close)
    third.created_at = third.closed_at - timedelta(hours=100)
    db.session.commit()
    result = issue_figures.issue_figures(
        Access(world["leader"]).enterprise_scope(), now - timedelta(days=1), utcnow() + timedelta(1)
    )
    assert result[county_a.id].median_hours == Decimal("30.0")
    # Outside the period: nothing.
    assert (
        issue_figures.issue_figures(
            Access(world["leader"]).enterprise_scope(),
            now - timedelta(days=10),
            now - timedelta(days=9),
        )
        == {}
    )
    # Scope: staff of the other county sees none of county A's enterprise's issues.
    assert (
        issue_figures.issue_figures(
            Access(world["other"]).enterprise_scope(), now - timedelta(days=1), now + timedelta(1)
        )
        == {}
    )


# -- HTTP ------------------------------------------------------------------------------------
def post_step(client, issue, action, note="", version=None):
    return client.post(
        f"/issues/{issue.id}/transition",
        data={
            "action": action,
            "note": note,
            "version": issue.version if version is None else version,
        },
    )


def test_whole_path_over_http(client, login, db, world):
    issue = new_issue(db, world)
    login(world["staff"])
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert 'data-action="accept"' in page and 'data-action="close"' not in page
    for action, note in [("accept", ""), ("start", "协调供电局"), ("resolve", "已增容")]:
        response = post_step(client, issue, action, note)
        assert response.status_code == 302, response.get_data(as_text=True)[:400]
        db.session.refresh(issue)
    assert issue.status == IssueStatus.RESOLVED
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert f"/issues/{issue.id}/callback" in page
    assert client.get(f"/issues/{issue.id}/callback").status_code == 200
    response = client.post(
        f"/issues/{issue.id}/callback",
        data={"satisfaction": "4", "comment": "满意", "version": issue.version},
    )
    assert response.status_code == 302
    db.session.refresh(issue)
    assert issue.status == IssueStatus.CALLBACK
    assert post_step(client, issue, "close").status_code == 302
    db.session.refresh(issue)
    assert issue.status == IssueStatus.CLOSED
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert page.count("data-step=") == 5
    assert "协调供电局" in page and "data-late" not in page
    # The enterprise's file shows every step.
    file_page = client.get(f"/enterprises/{world['ent_a'].id}").get_data(as_text=True)
    assert file_page.count('data-kind="issue.step"') == 5
    assert "Issue moved on" in file_page and "协调供电局" in file_page


def test_unsatisfied_callback_over_http(client, login, db, world):
    issue = new_issue(db, world)
    walk_to_resolved(db, issue, world["staff"])
    login(world["staff"])
    response = client.post(
        f"/issues/{issue.id}/callback",
        data={"satisfaction": "2", "comment": "没有解决", "version": issue.version},
    )
    assert response.status_code == 302
    db.session.refresh(issue)
    assert issue.status == IssueStatus.IN_PROGRESS and issue.reopened_count == 1
    # Missing score: 400, nothing saved.
    walk = count(db, IssueStep)
    response = client.post(f"/issues/{issue.id}/callback", data={"version": issue.version})
    assert response.status_code == 400
    assert count(db, IssueStep) == walk


def test_illegal_move_over_http_is_400_with_message(client, login, db, world):
    issue = new_issue(db, world)
    login(world["staff"])
    response = post_step(client, issue, "close")
    assert response.status_code == 400
    assert "This step is not possible now" in response.get_data(as_text=True)
    response = post_step(client, issue, "bogus")
    assert response.status_code == 400
    step(db, issue, workflow.accept)
    response = post_step(client, issue, "start", note="")
    assert response.status_code == 400
    assert "Describe the proposed solution." in response.get_data(as_text=True)
    # A callback before the issue is resolved.
    response = client.post(
        f"/issues/{issue.id}/callback", data={"satisfaction": "5", "version": issue.version}
    )
    assert response.status_code == 400
    db.session.refresh(issue)
    assert issue.status == IssueStatus.ACCEPTED
    assert count(db, IssueStep) == 1


def test_stale_step_over_http_is_409(client, login, db, world):
    issue = new_issue(db, world)
    old = issue.version
    step(db, issue, workflow.accept)
    login(world["staff"])
    response = post_step(client, issue, "start", note="方案", version=old)
    assert response.status_code == 409
    db.session.refresh(issue)
    assert issue.status == IssueStatus.ACCEPTED


def test_reassign_by_manager_staff_forbidden(client, login, switch, db, world):
    issue = new_issue(db, world)
    login(world["staff"])
    assert client.get(f"/issues/{issue.id}/reassign").status_code == 403
    data = {
        "assignee": world["colleague"].id,
        "unit": world["county_a"].id,
        "reason": "换人跟进",
        "version": issue.version,
    }
    assert client.post(f"/issues/{issue.id}/reassign", data=data).status_code == 403
    switch(world["manager"])
    assert client.get(f"/issues/{issue.id}/reassign").status_code == 200
    assert (
        client.post(f"/issues/{issue.id}/reassign", data={**data, "reason": ""}).status_code == 400
    )
    response = client.post(f"/issues/{issue.id}/reassign", data=data)
    assert response.status_code == 302
    db.session.refresh(issue)
    assert issue.assignee_id == world["colleague"].id
    file_page = client.get(f"/enterprises/{world['ent_a'].id}").get_data(as_text=True)
    assert 'data-kind="issue.reassigned"' in file_page and "换人跟进" in file_page


def test_list_deadline_filters(client, login, db, world):
    overdue = new_issue(db, world, "已逾期诉求")
    soon = new_issue(db, world, "本周到期诉求")
    overdue.step_due_at = utcnow() - timedelta(minutes=5)
    soon.step_due_at = utcnow() + timedelta(minutes=1)  # still inside this local week
    db.session.commit()
    login(world["staff"])
    page = client.get("/issues?step_due=overdue").get_data(as_text=True)
    assert "已逾期诉求" in page and "本周到期诉求" not in page
    page = client.get("/issues?step_due=week").get_data(as_text=True)
    assert "本周到期诉求" in page and "已逾期诉求" not in page
    page = client.get("/issues").get_data(as_text=True)
    assert "data-step-due" in page and "Step overdue" in page
    detail = client.get(f"/issues/{overdue.id}").get_data(as_text=True)
    assert "data-step-overdue" in detail


def test_figures_page_and_rules_admin(client, login, switch, db, world, make_user):
    from crm.models import Role

    issue = new_issue(db, world)
    walk_to_resolved(db, issue, world["staff"])
    step(db, issue, workflow.callback, satisfaction=5)
    step(db, issue, workflow.close)
    login(world["manager"])
    page = client.get("/issues/figures").get_data(as_text=True)
    assert f'data-unit="{world["county_a"].id}"' in page
    assert "100.0%" in page
    assert client.get("/issues/figures?start=2030-01-02&end=2030-01-01").status_code == 400
    assert client.get("/admin/issue-rules/").status_code == 403
    admin = make_user(Role.ADMIN, name="管理员", locale="en")
    switch(admin)
    assert client.get("/admin/issue-rules/").status_code == 200
    data = {
        "category": "power",
        "respond_minutes": "15",
        "solution_minutes": "600",
        "close_minutes": "4320",
        "version": "",
    }
    assert client.post("/admin/issue-rules/", data=data).status_code == 302
    rule = workflow.rule_for(IssueCategory.POWER)
    assert (rule.respond_minutes, rule.solution_minutes, rule.close_minutes) == (15, 600, 4320)
    response = client.post("/admin/issue-rules/", data={**data, "respond_minutes": "0"})
    assert response.status_code == 400
    assert workflow.rule_for(IssueCategory.POWER).respond_minutes == 15
    # Stale: the rule exists now, an empty version is outdated.
    assert client.post("/admin/issue-rules/", data=data).status_code == 409
    assert count(db, EnterpriseIssue) == 1


def test_pages_in_chinese(client, login, db, world, make_user):
    from crm.models import Role

    issue = new_issue(db, world)
    walk_to_resolved(db, issue, world["staff"])
    step(db, issue, workflow.callback, satisfaction=1, comment="仍未通电")
    manager = make_user(Role.MANAGER, [world["county_a"]], name="陈科长", locale="zh_CN")
    login(manager)
    detail = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "办理过程" in detail and "满意度" in detail and "转办" in detail
    assert "已重新办理 1 次" in detail
    file_page = client.get(f"/enterprises/{world['ent_a'].id}").get_data(as_text=True)
    assert "诉求办理进展" in file_page and "仍未通电" in file_page
    figures = client.get("/issues/figures").get_data(as_text=True)
    assert "按时办结" in figures and "满意率" in figures
    assert client.get(f"/issues/{issue.id}/callback").status_code == 200
    assert client.get(f"/issues/{issue.id}/reassign").status_code == 200
