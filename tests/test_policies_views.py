"""Policy packages (一企一策): add, edit, delete through the pages, and their place in the file."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.models import Policy, PolicyStatus
from tests.helpers import count, events
from tests.test_projects_views import add_project, field_errors, project_world


@pytest.fixture
def world(db, make_unit, make_user, make_enterprise):
    return project_world(db, make_unit, make_user, make_enterprise)


def policy_form(**overrides) -> dict:
    data = {
        "name": "固定资产投资补助",
        "status": "approved",
        "value_wan": "1234.5678",
        "project": "",
        "basis": "市政府〔2024〕12号",
        "conditions": "年内开工，投资不低于5亿元",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


def only_policy(db) -> Policy:
    return db.session.execute(select(Policy)).scalar_one()


def test_add_a_policy_tied_to_a_project(client, db, world, switch, app):
    project = add_project(app, db, world)
    other_firms_project = add_project(app, db, world, enterprise=world["firm_b"], name="别家的项目")
    firm = world["firm"]
    switch(world["staff"])
    page = client.get(f"/enterprises/{firm.id}/policies/new?project_id={project.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # The choice is this enterprise's projects, the one we came from preselected.
    assert re.search(
        rf'<option selected value="{project.id}">|<option value="{project.id}" selected>', html
    )
    assert "别家的项目" not in html

    response = client.post(
        f"/enterprises/{firm.id}/policies/new", data=policy_form(project=str(project.id))
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enterprises/{firm.id}")
    policy = only_policy(db)
    assert policy.value_wan == Decimal("1234.5678")
    assert policy.status == PolicyStatus.APPROVED
    assert policy.project_id == project.id
    assert policy.created_by_id == world["staff"].id
    assert len(events(db, "policy.created", policy.id)) == 1

    file_html = client.get(f"/enterprises/{firm.id}").get_data(as_text=True)
    card = file_html[file_html.index('id="policy-list"') :]
    assert "固定资产投资补助" in card
    assert 'data-policy-status="approved"' in card
    assert "1,234.5678 ten thousand yuan" in card
    assert "年内开工，投资不低于5亿元" in card
    assert f'href="/projects/{project.id}"' in card
    assert f'href="/policies/{policy.id}/edit"' in card
    # The project page lists it too.
    detail = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "固定资产投资补助" in detail[detail.index('id="project-policies"') :]

    # A project of another enterprise is no choice.
    response = client.post(
        f"/enterprises/{firm.id}/policies/new",
        data=policy_form(name="别的", project=str(other_firms_project.id)),
    )
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "project")
    assert count(db, Policy) == 1


@pytest.mark.parametrize("bad", ["abc", "1.23456"])
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_bad_value_is_refused(
    client, db, make_unit, make_user, make_enterprise, switch, app, bad, locale
):
    from flask_babel import force_locale

    from crm import labels

    world = project_world(db, make_unit, make_user, make_enterprise, locale=locale)
    switch(world["staff"])
    response = client.post(
        f"/enterprises/{world['firm'].id}/policies/new", data=policy_form(value_wan=bad)
    )
    assert response.status_code == 400
    errors = field_errors(response.get_data(as_text=True), "value_wan")
    assert len(errors) == 1
    with app.test_request_context(), force_locale(locale):
        assert str(labels.FIELD["value_wan"]) in errors[0]
    if locale == "en":
        assert errors[0].startswith("Value (万元): ")
    assert count(db, Policy) == 0


def test_policy_without_a_name_is_refused(client, db, world, switch):
    switch(world["staff"])
    response = client.post(
        f"/enterprises/{world['firm'].id}/policies/new", data=policy_form(name="")
    )
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "name")
    assert count(db, Policy) == 0


def test_edit_and_a_stale_version(client, db, world, switch, client_for):
    firm = world["firm"]
    switch(world["staff"])
    client.post(f"/enterprises/{firm.id}/policies/new", data=policy_form())
    policy = only_policy(db)
    page = client.get(f"/policies/{policy.id}/edit").get_data(as_text=True)
    assert 'value="1234.5678"' in page
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)

    manager = client_for(world["manager"])
    response = manager.post(
        f"/policies/{policy.id}/edit",
        data=policy_form(status="honoured", version=version),
    )
    assert response.status_code == 302
    stale = client.post(
        f"/policies/{policy.id}/edit",
        data=policy_form(status="clawed_back", value_wan="1", version=version),
    )
    assert stale.status_code == 409
    db.session.expire_all()
    policy = db.session.get(Policy, policy.id)
    assert policy.status == PolicyStatus.HONOURED
    assert policy.value_wan == Decimal("1234.5678")
    updated = events(db, "policy.updated", policy.id)
    assert [c["field"] for c in updated[0].data["changes"]] == ["status"]


def test_delete_and_restore(client, db, world, switch):
    firm = world["firm"]
    switch(world["staff"])
    client.post(f"/enterprises/{firm.id}/policies/new", data=policy_form())
    policy = only_policy(db)
    response = client.post(f"/policies/{policy.id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Policy, policy.id).deleted_at is not None
    assert client.get(f"/policies/{policy.id}/edit").status_code == 404
    assert f'data-policy="{policy.id}"' not in client.get(f"/enterprises/{firm.id}").get_data(
        as_text=True
    )
    assert len(events(db, "policy.deleted", policy.id)) == 1

    switch(world["admin"])
    assert "固定资产投资补助" in client.get("/admin/trash?kind=policy").get_data(as_text=True)
    assert client.post(f"/admin/trash/policy/{policy.id}/restore").status_code == 302
    db.session.expire_all()
    assert db.session.get(Policy, policy.id).deleted_at is None
    assert len(events(db, "policy.restored", policy.id)) == 1


def test_access(client, db, world, switch):
    firm = world["firm"]
    switch(world["staff"])
    client.post(f"/enterprises/{firm.id}/policies/new", data=policy_form())
    policy = only_policy(db)
    switch(world["other"])
    assert client.get(f"/enterprises/{firm.id}/policies/new").status_code == 404
    assert client.get(f"/policies/{policy.id}/edit").status_code == 404
    assert client.post(f"/policies/{policy.id}/delete").status_code == 404
    switch(world["leader"])
    assert client.get(f"/policies/{policy.id}/edit").status_code == 403
    html = client.get(f"/enterprises/{firm.id}").get_data(as_text=True)
    assert "固定资产投资补助" in html and f"/policies/{policy.id}/edit" not in html
    assert count(db, Policy) == 1


def test_the_dossier_has_projects_and_policies(client, db, world, switch, app):
    project = add_project(app, db, world, contract_amount_wan=Decimal("120000"))
    firm = world["firm"]
    switch(world["staff"])
    client.post(f"/enterprises/{firm.id}/policies/new", data=policy_form(project=str(project.id)))
    html = client.get(f"/enterprises/{firm.id}/dossier").get_data(as_text=True)
    projects = html[html.index('id="projects"') :]
    assert "长盈精密二期" in projects and "Key project" in projects
    assert "12 hundred million yuan" in projects
    policies = html[html.index('id="policy-list"') :]
    assert "固定资产投资补助" in policies and "市政府〔2024〕12号" in policies
