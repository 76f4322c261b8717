"""Managers' lists: escalated issues and follow-ups, escalations on the issue page and in the file."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from crm import timeline
from crm.clock import local_today
from crm.issues import services as issue_services
from crm.models import Escalation, IssueCategory, Role, UnitKind
from crm.models.base import utcnow
from crm.visits import services as visit_services


@pytest.fixture
def world(db, make_unit, make_user, make_enterprise):
    bureau = make_unit("市投促局", UnitKind.BUREAU)
    county = make_unit("翠屏区", UnitKind.COUNTY, parent=bureau)
    other_county = make_unit("叙州区", UnitKind.COUNTY, parent=bureau)
    staff = make_user(Role.STAFF, [county], name="李专员", locale="en")
    manager = make_user(Role.MANAGER, [county], name="王科长", locale="en")
    other_manager = make_user(Role.MANAGER, [other_county], name="赵科长", locale="en")
    firm = make_enterprise("宜宾长盈精密技术有限公司", units=[county], responsible=staff)
    other_firm = make_enterprise("叙州食品有限公司", units=[other_county])
    return {
        "bureau": bureau,
        "county": county,
        "staff": staff,
        "manager": manager,
        "other_manager": other_manager,
        "firm": firm,
        "other_firm": other_firm,
    }


def escalate(db, subject_type, item, level, unit, reason="overdue"):
    db.session.add(
        Escalation(
            subject_type=subject_type,
            subject_id=item.id,
            enterprise_id=item.enterprise_id,
            level=level,
            unit_id=unit.id,
            reason=reason,
            occasion_at=utcnow() - timedelta(days=1),
            at=utcnow(),
        )
    )
    db.session.commit()


def issue(db, world, title, firm=None):
    made = issue_services.create_issue(
        firm or world["firm"],
        actor=world["staff"],
        category=IssueCategory.LAND,
        title=title,
        assignee=world["staff"],
    )
    db.session.commit()
    return made


def issue_titles(html: str) -> list[str]:
    return re.findall(r'<a href="/issues/\d+">([^<]+)</a>', html)


def test_the_issue_list_filters_escalated_issues_within_scope(db, client, login, world):
    quiet = issue(db, world, "用电增容")
    raised = issue(db, world, "用地指标")
    elsewhere = issue(db, world, "冷链物流", firm=world["other_firm"])
    escalate(db, "issue", raised, 1, world["county"])
    escalate(db, "issue", elsewhere, 1, world["bureau"])
    escalate(db, "follow_up", quiet, 1, world["county"])  # another subject type, same id space
    login(world["manager"])
    html = client.get("/issues?step_due=escalated").get_data(as_text=True)
    assert issue_titles(html) == ["用地指标"]
    assert re.search(r"<option selected value=\"escalated\">|value=\"escalated\" selected", html)
    everything = client.get("/issues").get_data(as_text=True)
    assert sorted(issue_titles(everything)) == sorted(["用电增容", "用地指标"])
    assert everything.count("data-escalated") == 1


def test_the_issue_page_lists_its_escalations(db, client, login, world):
    raised = issue(db, world, "用地指标")
    escalate(db, "issue", raised, 1, world["county"])
    escalate(db, "issue", raised, 2, world["bureau"], reason="reopened")
    login(world["manager"])
    html = client.get(f"/issues/{raised.id}").get_data(as_text=True)
    block = re.search(r'<dd class="col-sm-9" id="escalations">(.*?)</dd>', html, re.S).group(1)
    lines = re.findall(r"<div data-escalation=\"(\d)\">([^<]*)</div>", block)
    assert [level for level, _text in lines] == ["1", "2"]
    assert "Level 1 · 翠屏区 · Overdue · " in lines[0][1]
    assert "Level 2 · 市投促局 · Reopened" in lines[1][1]
    assert "data-escalated" in html
    quiet = issue(db, world, "用电增容")
    assert 'id="escalations"' not in client.get(f"/issues/{quiet.id}").get_data(as_text=True)


def test_follow_up_filters_overdue_this_week_escalated(db, client, login, world):
    today = local_today()

    def follow_up(title, days):
        made = visit_services.create_follow_up(
            world["firm"],
            actor=world["staff"],
            title=title,
            due_date=today + timedelta(days=1),
            owner=world["staff"],
        )
        made.due_date = today + timedelta(days=days)  # past dates cannot be entered
        db.session.commit()
        return made

    late = follow_up("逾期回访", -2)
    follow_up("本周回访", 0)
    follow_up("下月回访", 40)
    escalate(db, "follow_up", late, 1, world["county"])
    login(world["manager"])

    def titles(query: str) -> list[str]:
        html = client.get(f"/follow-ups?who=all&{query}").get_data(as_text=True)
        return re.findall(r'data-follow-up="\d+">\s*<td[^>]*>[^<]*</td>\s*<td>\s*([^<\s]+)', html)

    assert titles("due=overdue") == ["逾期回访"]
    assert titles("overdue=y") == ["逾期回访"]  # links made before the choice still work
    assert titles("due=week") == ["本周回访"]
    assert titles("due=escalated") == ["逾期回访"]
    assert sorted(titles("")) == sorted(["逾期回访", "本周回访", "下月回访"])
    assert client.get("/follow-ups?due=bogus").status_code == 200


def test_escalations_read_well_in_the_file(db, client, login, world, app):
    raised = issue(db, world, "用地指标")
    for kind, subject_type, subject_id in (
        ("issue.escalated", "issue", raised.id),
        ("project_stalled.escalated", "project_stalled", 7),
        ("project_funds.escalated", "project_funds", 7),
        ("follow_up.escalated", "follow_up", 3),
    ):
        timeline.record(
            world["firm"].id,
            kind,
            actor=None,
            subject_type=subject_type,
            subject_id=subject_id,
            data={"level": 2, "unit": "市投促局", "reason": "overdue"},
        )
    db.session.commit()
    login(world["manager"])
    html = client.get(f"/enterprises/{world['firm'].id}").get_data(as_text=True)
    for label in (
        "Issue escalated",
        "Stalled project escalated",
        "Missing funds report escalated",
        "Follow-up escalated",
    ):
        assert label in html, label
    assert "/projects/7" in html  # a project's escalation links to the project
    assert html.count("市投促局") >= 4
