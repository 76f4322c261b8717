"""Every project and policy change is a readable line in the enterprise's file, in both languages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crm.models import FundsEntry, Policy, Project, Role
from tests.helpers import today
from tests.test_projects_views import project_form, project_world


def timeline_items(html: str) -> dict[str, list[str]]:
    """Each event's HTML by kind (newest first), from the file page's timeline."""
    found: dict[str, list[str]] = {}
    for kind, body in re.findall(
        r'<li class="timeline-item[^"]*" id="event-\d+" data-kind="([^"]+)">(.*?)</li>\s*(?=<li class="timeline-item|</ol>)',
        html,
        re.S,
    ):
        found.setdefault(kind, []).append(body)
    return found


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def walk_through_a_project(client, db, world) -> tuple[Project, Policy]:
    """Create, edit, move, fund, correct, add a policy, change it, then delete both."""
    firm = world["firm"]
    response = client.post(
        f"/enterprises/{firm.id}/projects/new",
        data=project_form(world, contract_amount_wan="12345.6789", stage="negotiation"),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    project = db.session.execute(select(Project)).scalar_one()

    def version():
        db.session.expire_all()
        return str(db.session.get(Project, project.id).version)

    response = client.post(
        f"/projects/{project.id}/edit",
        data=project_form(
            world, contract_amount_wan="150000", committed_jobs="450", version=version()
        ),
    )
    assert response.status_code == 302
    # A regular move, then an irregular one (skipping "landed").
    for to_stage, reason in (("signed", ""), ("started", "土地已摘牌并同时开工")):
        response = client.post(
            f"/projects/{project.id}/stage",
            data={
                "to_stage": to_stage,
                "effective_on": today().isoformat(),
                "reason": reason,
                "version": version(),
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    response = client.post(
        f"/projects/{project.id}/funds",
        data={
            "month": today().strftime("%Y-%m"),
            "source": "outside_province",
            "amount_wan": "2500.5",
            "note": "首笔到位",
        },
    )
    assert response.status_code == 302
    entry = db.session.execute(select(FundsEntry)).scalar_one()
    response = client.post(
        f"/projects/{project.id}/funds?corrects={entry.id}",
        data={"amount_wan": "-500.5", "note": "重复统计"},
    )
    assert response.status_code == 302

    response = client.post(
        f"/enterprises/{firm.id}/policies/new",
        data={
            "name": "厂房租金减免",
            "status": "proposed",
            "value_wan": "300",
            "project": str(project.id),
        },
    )
    assert response.status_code == 302
    policy = db.session.execute(select(Policy)).scalar_one()
    response = client.post(
        f"/policies/{policy.id}/edit",
        data={
            "name": "厂房租金减免",
            "status": "approved",
            "value_wan": "300",
            "project": str(project.id),
            "version": str(policy.version),
        },
    )
    assert response.status_code == 302
    assert client.post(f"/policies/{policy.id}/delete").status_code == 302
    return project, policy


@pytest.fixture
def world(db, make_unit, make_user, make_enterprise):
    return project_world(db, make_unit, make_user, make_enterprise)


def test_each_event_reads_in_english_and_links_to_the_project(client, db, world, switch):
    switch(world["manager"])
    project, _policy = walk_through_a_project(client, db, world)
    html = client.get(f"/enterprises/{world['firm'].id}").get_data(as_text=True)
    items = timeline_items(html)
    link = f'href="/projects/{project.id}"'

    created = items["project.created"][0]
    assert "Project created" in created and link in created
    assert "长盈精密二期" in created
    line = text_of(created)
    assert "Stage: In negotiation since" in line
    assert "Contract amount (万元): 1.23456789 hundred million yuan" in line
    assert "County / district: 翠屏区" in line

    updated = text_of(items["project.updated"][0])
    assert "Project changed" in updated and link in items["project.updated"][0]
    assert "Contract amount (万元): 12345.6789 → 150000" in updated
    assert "Committed jobs: 300 → 450" in updated

    regular, irregular = items["project.stage_changed"][1], items["project.stage_changed"][0]
    assert "In negotiation → Signed" in text_of(regular)
    assert "data-irregular" not in regular
    assert "Signed → Construction started" in text_of(irregular)
    assert "data-irregular" in irregular and "Irregular" in irregular
    assert "Reason: 土地已摘牌并同时开工" in text_of(irregular)
    assert f"Effective date: {today().strftime('%-d %b %Y')}" in text_of(irregular)
    assert link in irregular

    recorded = text_of(items["project.funds_recorded"][0])
    assert "Funds in place recorded" in recorded
    assert f"Month: {today().strftime('%b %Y')}" in recorded
    assert "Source: Outside the province" in recorded
    assert "Amount (万元): 2,500.5 ten thousand yuan" in recorded
    assert "Note: 首笔到位" in recorded
    corrected = text_of(items["project.funds_corrected"][0])
    assert "Funds in place corrected" in corrected
    assert "Amount (万元): -500.5 ten thousand yuan" in corrected
    assert "Corrects entry: #" in corrected and "Note: 重复统计" in corrected

    policy_created = text_of(items["policy.created"][0])
    assert "Policy added" in policy_created and "厂房租金减免" in policy_created
    assert "Status: Proposed" in policy_created
    assert "Value (万元): 300 ten thousand yuan" in policy_created
    assert "Project: 长盈精密二期" in policy_created
    assert "Status: Proposed → Approved" in text_of(items["policy.updated"][0])
    assert "Policy deleted" in text_of(items["policy.deleted"][0])

    # Deleting the project: the line names it and links nowhere.
    switch(world["manager"])
    assert client.post(f"/projects/{project.id}/delete").status_code == 302
    html = client.get(f"/enterprises/{world['firm'].id}").get_data(as_text=True)
    deleted = timeline_items(html)["project.deleted"][0]
    assert "Project deleted" in deleted and "长盈精密二期" in deleted
    assert link not in deleted


def test_events_read_in_chinese(client, db, make_unit, make_user, make_enterprise, switch):
    world = project_world(db, make_unit, make_user, make_enterprise, locale="zh_CN")
    switch(world["manager"])
    project, _policy = walk_through_a_project(client, db, world)
    html = client.get(f"/enterprises/{world['firm'].id}").get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    items = timeline_items(html)
    for kind in (
        "project.created",
        "project.updated",
        "project.stage_changed",
        "project.funds_recorded",
        "project.funds_corrected",
        "policy.created",
        "policy.updated",
        "policy.deleted",
    ):
        assert kind in items, kind
    # Dates, months and amounts are written the Chinese way.
    assert "1.23456789 亿元" in text_of(items["project.created"][0])
    assert f"{today().year}年{today().month}月" in text_of(items["project.funds_recorded"][0])
    assert "2,500.5 万元" in text_of(items["project.funds_recorded"][0])
    irregular = items["project.stage_changed"][0]
    assert f"{today().year}年{today().month}月{today().day}日" in text_of(irregular)
    assert "data-irregular" in irregular and "土地已摘牌并同时开工" in irregular
    assert f'href="/projects/{project.id}"' in irregular


def test_the_dossier_prints_the_events_without_links(client, db, world, switch):
    switch(world["manager"])
    project, _policy = walk_through_a_project(client, db, world)
    html = client.get(f"/enterprises/{world['firm'].id}/dossier").get_data(as_text=True)
    items = timeline_items(html)
    assert "Signed → Construction started" in text_of(items["project.stage_changed"][0])
    assert f'href="/projects/{project.id}"' not in html[html.index('id="timeline"') :]


def test_a_reader_of_the_file_sees_the_project_lines(client, db, world, switch, make_user):
    switch(world["manager"])
    walk_through_a_project(client, db, world)
    leader = make_user(Role.LEADER, locale="en")
    switch(leader)
    html = client.get(f"/enterprises/{world['firm'].id}").get_data(as_text=True)
    assert "Project stage changed" in html
    assert "New project" not in html  # a leader reads only


def test_the_file_page_needs_no_more_queries_for_more_projects(client, db, world, switch, app):
    from decimal import Decimal

    from crm.policies.services import create_policy
    from tests.test_projects_views import add_project, counting_queries

    firm = world["firm"]
    url = f"/enterprises/{firm.id}"

    def add(n):
        for i in range(n):
            project = add_project(app, db, world, name=f"项目{i}", contract_amount_wan=Decimal(i))
            with app.test_request_context():
                create_policy(firm, actor=world["staff"], name=f"政策{i}", project=project)
                db.session.commit()

    add(1)
    switch(world["staff"])
    client.get(url)
    with counting_queries(db) as one:
        client.get(url)
    add(12)
    with counting_queries(db) as many:
        html = client.get(url).get_data(as_text=True)
    assert len(many) == len(one), "\n".join(many)
    assert html.count("data-project=") == 13 and html.count("data-policy=") == 13
