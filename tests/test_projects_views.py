"""Project pages (招商项目): list, create, edit, stage changes, funds in place, delete, access.

Everything goes through the HTTP client against a real database; amounts are
checked to the last of their four decimal places on the page and in the database.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import event, select

from crm import labels
from crm.models import (
    FundsEntry,
    FundsSource,
    Industry,
    Project,
    ProjectStage,
    ProjectStageChange,
    Role,
    UnitKind,
)
from crm.projects import services as project_services
from tests.helpers import count, events, today

ERROR = re.compile(r'<div class="invalid-feedback[^"]*"[^>]*>(.*?)</div>', re.S)
CJK = re.compile(r"[\u4e00-\u9fff]")


def field_errors(html: str, field: str) -> list[str]:
    """The error messages drawn under one field (render_field puts them right after it)."""
    start = html.find(f'id="{field}"')
    assert start >= 0, f"field {field} not on the page"
    tag = html.rfind("<", 0, start)
    element = re.match(r"<(\w+)", html[tag:]).group(1)
    end = (
        html.index(f"</{element}>", start) + len(element) + 3
        if element in ("select", "textarea")
        else html.index(">", start) + 1
    )
    after = re.match(
        r'(?:\s*<div class="form-text"[^>]*>.*?</div>)?((?:\s*<div class="invalid-feedback[^"]*"[^>]*>.*?</div>)*)',
        html[end:],
        re.S,
    )
    return [re.sub(r"<[^>]+>", "", e).strip() for e in ERROR.findall(after.group(1))]


@contextmanager
def counting_queries(db):
    statements: list[str] = []

    def _count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", _count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", _count)


def project_world(db, make_unit, make_user, make_enterprise, *, locale="en") -> dict:
    """Two counties, a task force, a park and an outbound office; staff, manager and admin."""
    county_a, county_b = make_unit("翠屏区"), make_unit("南溪区")
    world = {
        "county_a": county_a,
        "county_b": county_b,
        "task_force": make_unit("数字经济专班", kind=UnitKind.TASK_FORCE),
        "park": make_unit("临港经开区", kind=UnitKind.PARK),
        "office": make_unit("驻长三角分局", kind=UnitKind.OUTBOUND_OFFICE),
        "staff": make_user(Role.STAFF, [county_a], name="张敏", locale=locale),
        "manager": make_user(Role.MANAGER, [county_a], name="孙科长", locale=locale),
        "other": make_user(Role.STAFF, [county_b], name="王芳", locale=locale),
        "leader": make_user(Role.LEADER, name="赵局长", locale=locale),
        "admin": make_user(Role.ADMIN, name="管理员", locale=locale),
    }
    industry = Industry(name="数字经济")
    db.session.add(industry)
    db.session.commit()
    world["industry"] = industry
    world["firm"] = make_enterprise(
        "宜宾长盈精密技术有限公司", units=[county_a], actor=world["staff"]
    )
    world["firm_b"] = make_enterprise("南溪食品有限公司", units=[county_b], actor=world["other"])
    return world


def add_project(app, db, world, enterprise=None, **fields) -> Project:
    """A project made by the service (the set-up of tests about other pages)."""
    defaults = {
        "name": "长盈精密二期",
        "county": world["county_a"],
        "contract_amount_wan": Decimal("50000"),
        "stage": ProjectStage.SIGNED,
        "stage_on": today() - timedelta(days=10),
    }
    defaults.update(fields)
    with app.test_request_context():
        project = project_services.create_project(
            enterprise or world["firm"], actor=world["staff"], **defaults
        )
        db.session.commit()
    return project


def project_form(world, **overrides) -> dict:
    data = {
        "name": "长盈精密二期",
        "name_en": "Changying Precision phase II",
        "industry": str(world["industry"].id),
        "county": str(world["county_a"].id),
        "park": str(world["park"].id),
        "task_force": str(world["task_force"].id),
        "channel": "industry_chain",
        "outbound_office": str(world["office"].id),
        "outbound_role": "negotiation",
        "contract_amount_wan": "12345.6789",
        "fdi_usd_wan": "800.25",
        "is_out_of_province": "y",
        "platform_number": "YB-2024-0001",
        "committed_investment_wan": "20000",
        "committed_output_wan": "30000.5",
        "committed_tax_wan": "1500",
        "committed_jobs": "300",
        "planned_start_on": (today() + timedelta(days=60)).isoformat(),
        "description": "精密结构件生产线",
        "description_en": "",
        "is_promoted": "",
        "public_fields": ["industry", "county"],
        "stage": "signed",
        "stage_on": (today() - timedelta(days=10)).isoformat(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


@pytest.fixture
def world(db, make_unit, make_user, make_enterprise):
    return project_world(db, make_unit, make_user, make_enterprise)


def only_project(db) -> Project:
    return db.session.execute(select(Project)).scalar_one()


# -- create -----------------------------------------------------------------------------------


def test_create_project_keeps_every_field_and_the_exact_amount(client, db, world, switch):
    switch(world["staff"])
    firm = world["firm"]
    form_page = client.get(f"/enterprises/{firm.id}/projects/new")
    assert form_page.status_code == 200
    html = form_page.get_data(as_text=True)
    assert 'name="public_fields"' in html and 'type="checkbox"' in html
    assert 'inputmode="decimal"' in html

    response = client.post(f"/enterprises/{firm.id}/projects/new", data=project_form(world))
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    project = only_project(db)
    assert response.headers["Location"].endswith(f"/projects/{project.id}")

    assert project.contract_amount_wan == Decimal("12345.6789")
    assert project.fdi_usd_wan == Decimal("800.25")
    assert project.committed_output_wan == Decimal("30000.5")
    assert project.committed_jobs == 300
    assert project.county_id == world["county_a"].id
    assert project.park_id == world["park"].id
    assert project.task_force_id == world["task_force"].id
    assert project.outbound_office_id == world["office"].id
    assert project.outbound_role.value == "negotiation"
    assert project.is_out_of_province is True and project.is_reinvestment is False
    assert project.public_fields == ["county", "industry"]
    assert project.stage == ProjectStage.SIGNED
    assert project.signed_on == today() - timedelta(days=10)
    assert project.created_by_id == world["staff"].id
    assert not project.is_key

    detail = client.get(f"/projects/{project.id}").get_data(as_text=True)
    # 12345.6789 万元 = 1.23456789 亿元: shown exactly both ways.
    assert "1.23456789 hundred million yuan" in detail
    assert "12345.6789 万元" in detail
    assert "Changying Precision phase II" in detail
    edit = client.get(f"/projects/{project.id}/edit").get_data(as_text=True)
    assert 'value="12345.6789"' in edit
    assert 'value="20000"' in edit  # stored as 20000.0000, shown as typed


def test_amount_round_trips_exactly_through_edit(client, db, world, switch):
    switch(world["staff"])
    client.post(f"/enterprises/{world['firm'].id}/projects/new", data=project_form(world))
    project = only_project(db)
    for typed, stored in [
        ("99999.0001", Decimal("99999.0001")),
        ("１２３，４５６．７８９", Decimal("123456.789")),  # full-width, from a Chinese IME
        ("0.0001", Decimal("0.0001")),
    ]:
        version = db.session.get(Project, project.id).version
        response = client.post(
            f"/projects/{project.id}/edit",
            data=project_form(world, contract_amount_wan=typed, version=str(version)),
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        db.session.expire_all()
        assert db.session.get(Project, project.id).contract_amount_wan == stored
        plain = f"{stored:f}".rstrip("0").rstrip(".")
        edit = client.get(f"/projects/{project.id}/edit").get_data(as_text=True)
        assert f'value="{plain}"' in edit


def test_a_key_project_is_marked(client, db, world, switch):
    switch(world["staff"])
    client.post(
        f"/enterprises/{world['firm'].id}/projects/new",
        data=project_form(world, contract_amount_wan="100000"),
    )
    project = only_project(db)
    assert project.is_key
    assert "data-key-project" in client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "data-key-project" in client.get(f"/enterprises/{world['firm'].id}").get_data(
        as_text=True
    )


BAD_AMOUNTS = {
    "abc": "Contract amount (万元): enter a number, e.g. 1200.5.",
    "1.23456": "Contract amount (万元): at most four decimal places",
    "1e5": "Contract amount (万元): enter a number, e.g. 1200.5.",
    "NaN": "Contract amount (万元): enter a number, e.g. 1200.5.",
}


@pytest.mark.parametrize("bad", list(BAD_AMOUNTS))
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_bad_amount_is_refused_naming_the_field(
    client, db, make_unit, make_user, make_enterprise, switch, app, bad, locale
):
    world = project_world(db, make_unit, make_user, make_enterprise, locale=locale)
    switch(world["staff"])
    response = client.post(
        f"/enterprises/{world['firm'].id}/projects/new",
        data=project_form(world, contract_amount_wan=bad),
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = field_errors(html, "contract_amount_wan")
    assert len(errors) == 1, errors
    with app.test_request_context(), force_locale(locale):
        field_name = str(labels.FIELD["contract_amount_wan"])
    assert field_name in errors[0]
    if locale == "en":
        assert BAD_AMOUNTS[bad] in errors[0]
    else:
        assert 'lang="zh-CN"' in html
    assert count(db, Project) == 0
    assert count(db, ProjectStageChange) == 0


def test_bad_policy_style_amounts_on_other_fields_name_their_field(client, db, world, switch):
    switch(world["staff"])
    response = client.post(
        f"/enterprises/{world['firm'].id}/projects/new",
        data=project_form(world, committed_tax_wan="十万", fdi_usd_wan="1.000001"),
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_errors(html, "committed_tax_wan") == [
        "Committed yearly tax (万元): enter a number, e.g. 1200.5."
    ]
    assert field_errors(html, "fdi_usd_wan") == [
        "FDI (万美元): at most four decimal places (1 yuan = 0.0001 万元)."
    ]
    assert count(db, Project) == 0


def test_service_rules_land_under_their_field(client, db, world, switch):
    switch(world["staff"])
    future = (today() + timedelta(days=3)).isoformat()
    response = client.post(
        f"/enterprises/{world['firm'].id}/projects/new",
        data=project_form(world, stage_on=future),
    )
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "stage_on") == [
        "The date cannot be in the future."
    ]
    response = client.post(
        f"/enterprises/{world['firm'].id}/projects/new",
        data=project_form(world, outbound_office=""),
    )
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "outbound_office") == [
        "Choose the outbound office that played this role."
    ]
    assert count(db, Project) == 0


def test_duplicate_platform_number_is_refused(client, db, world, switch, app):
    add_project(app, db, world, platform_number="YB-2024-0001")
    switch(world["staff"])
    response = client.post(
        f"/enterprises/{world['firm'].id}/projects/new", data=project_form(world)
    )
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "platform_number") == [
        "Another project already has this city platform number."
    ]
    assert count(db, Project) == 1


# -- edit ---------------------------------------------------------------------------------------


def test_edit_records_the_changes_and_refuses_a_stale_version(
    client, db, world, switch, client_for, app
):
    project = add_project(app, db, world)
    switch(world["staff"])
    page = client.get(f"/projects/{project.id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)

    colleague = client_for(world["manager"])
    first = colleague.post(
        f"/projects/{project.id}/edit",
        data=project_form(world, contract_amount_wan="60000", version=version),
    )
    assert first.status_code == 302

    stale = client.post(
        f"/projects/{project.id}/edit",
        data=project_form(world, contract_amount_wan="70000", name="改过的名字", version=version),
    )
    assert stale.status_code == 409
    assert "changed by someone else" in stale.get_data(as_text=True)
    db.session.expire_all()
    project = db.session.get(Project, project.id)
    assert project.contract_amount_wan == Decimal("60000")
    assert project.name == "长盈精密二期"
    updated = events(db, "project.updated", project.id)
    assert len(updated) == 1
    change = {c["field"]: c for c in updated[0].data["changes"]}
    assert change["contract_amount_wan"]["old"] == "50000"
    assert change["contract_amount_wan"]["new"] == "60000"


def test_saving_an_unchanged_form_records_nothing(client, db, world, switch, app):
    project = add_project(app, db, world, platform_number="P-1")
    switch(world["staff"])
    client.get(f"/projects/{project.id}/edit")
    data = {
        "name": project.name,
        "county": str(world["county_a"].id),
        "contract_amount_wan": "50000",
        "platform_number": "P-1",
        "version": str(project.version),
    }
    response = client.post(f"/projects/{project.id}/edit", data=data)
    assert response.status_code == 302
    assert events(db, "project.updated") == []


# -- stages -------------------------------------------------------------------------------------


def test_stage_form_preselects_the_next_stage(client, db, world, switch, app):
    project = add_project(app, db, world)
    switch(world["staff"])
    html = client.get(f"/projects/{project.id}/stage").get_data(as_text=True)
    assert re.search(r'<option selected value="landed">|<option value="landed" selected>', html)
    assert f'value="{today().isoformat()}"' in html
    assert 'value="signed"' not in html  # the current stage is no choice


def test_regular_move_with_a_past_date(client, db, world, switch, app):
    project = add_project(app, db, world)
    switch(world["staff"])
    landed_on = today() - timedelta(days=5)
    response = client.post(
        f"/projects/{project.id}/stage",
        data={
            "to_stage": "landed",
            "effective_on": landed_on.isoformat(),
            "version": str(project.version),
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    project = db.session.get(Project, project.id)
    assert project.stage == ProjectStage.LANDED
    assert project.landed_on == landed_on
    detail = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert 'data-rung="landed" data-reached="yes"' in detail
    assert 'data-rung="started" data-reached="no"' in detail
    assert "张敏" in detail  # who recorded it


def test_irregular_move_without_reason_is_refused_and_saves_nothing(client, db, world, switch, app):
    project = add_project(app, db, world)
    switch(world["staff"])
    before = count(db, ProjectStageChange)
    response = client.post(
        f"/projects/{project.id}/stage",
        data={
            "to_stage": "producing",
            "effective_on": today().isoformat(),
            "version": str(project.version),
        },
    )
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "reason") == [
        "This move skips or reverses stages: give the reason."
    ]
    assert count(db, ProjectStageChange) == before
    db.session.expire_all()
    assert db.session.get(Project, project.id).stage == ProjectStage.SIGNED
    assert events(db, "project.stage_changed") == []

    # With the reason it is recorded, and shown as irregular with its reason.
    response = client.post(
        f"/projects/{project.id}/stage",
        data={
            "to_stage": "producing",
            "effective_on": today().isoformat(),
            "reason": "企业边建边投产，补录",
            "version": str(project.version),
        },
    )
    assert response.status_code == 302
    detail = client.get(f"/projects/{project.id}").get_data(as_text=True)
    history = detail[detail.index('id="stage-history"') :]
    assert "data-irregular" in history and "企业边建边投产，补录" in history


def test_termination_needs_a_reason(client, db, world, switch, app):
    project = add_project(app, db, world)
    switch(world["staff"])
    data = {"to_stage": "terminated", "effective_on": today().isoformat()}
    response = client.post(
        f"/projects/{project.id}/stage", data={**data, "version": str(project.version)}
    )
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "reason") == [
        "Give the reason the project was terminated."
    ]
    response = client.post(
        f"/projects/{project.id}/stage",
        data={**data, "reason": "企业资金链断裂", "version": str(project.version)},
    )
    assert response.status_code == 302
    detail = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "企业资金链断裂" in detail
    # The ladder keeps what was reached before the end.
    assert 'data-rung="signed" data-reached="yes"' in detail
    assert 'data-rung="landed" data-reached="no"' in detail


def test_stage_change_with_a_stale_version_is_409(client, db, world, switch, app):
    project = add_project(app, db, world)
    switch(world["staff"])
    old_version = str(project.version)
    ok = client.post(
        f"/projects/{project.id}/stage",
        data={"to_stage": "landed", "effective_on": today().isoformat(), "version": old_version},
    )
    assert ok.status_code == 302
    stale = client.post(
        f"/projects/{project.id}/stage",
        data={"to_stage": "started", "effective_on": today().isoformat(), "version": old_version},
    )
    assert stale.status_code == 409
    db.session.expire_all()
    assert db.session.get(Project, project.id).stage == ProjectStage.LANDED
    assert count(db, ProjectStageChange) == 2


def test_a_date_before_the_current_stage_began_is_refused(client, db, world, switch, app):
    project = add_project(app, db, world)
    switch(world["staff"])
    response = client.post(
        f"/projects/{project.id}/stage",
        data={
            "to_stage": "landed",
            "effective_on": (today() - timedelta(days=60)).isoformat(),
            "version": str(project.version),
        },
    )
    assert response.status_code == 400
    errors = field_errors(response.get_data(as_text=True), "effective_on")
    assert errors and "before the current stage began" in errors[0]


# -- funds in place ------------------------------------------------------------------------------


def test_funds_and_a_correction(client, db, world, switch, app):
    project = add_project(app, db, world, contract_amount_wan=Decimal("10000"))
    switch(world["staff"])
    month = today().strftime("%Y-%m")
    html = client.get(f"/projects/{project.id}/funds").get_data(as_text=True)
    assert 'type="month"' in html and f'value="{month}"' in html

    response = client.post(
        f"/projects/{project.id}/funds",
        data={"month": month, "source": "outside_province", "amount_wan": "2500.1234"},
    )
    assert response.status_code == 302
    entry = db.session.execute(select(FundsEntry)).scalar_one()
    assert entry.amount_wan == Decimal("2500.1234")
    assert entry.month == today().replace(day=1)
    assert entry.source == FundsSource.OUTSIDE_PROVINCE

    correction_page = client.get(f"/projects/{project.id}/funds?corrects={entry.id}")
    assert correction_page.status_code == 200
    assert 'name="month"' not in correction_page.get_data(as_text=True)
    # A correction needs its reason.
    response = client.post(
        f"/projects/{project.id}/funds?corrects={entry.id}", data={"amount_wan": "-500"}
    )
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "note") == [
        "Say why the entry is corrected."
    ]
    response = client.post(
        f"/projects/{project.id}/funds?corrects={entry.id}",
        data={"amount_wan": "-500.1234", "note": "重复统计"},
    )
    assert response.status_code == 302
    correction = db.session.execute(
        select(FundsEntry).where(FundsEntry.corrects_id == entry.id)
    ).scalar_one()
    assert correction.amount_wan == Decimal("-500.1234")
    assert (correction.month, correction.source) == (entry.month, entry.source)

    detail = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert f'href="#funds-{entry.id}"' in detail  # the correction links to what it corrects
    assert f'href="#funds-{correction.id}"' in detail
    total = re.search(r'id="funds-total">(.*?)</dd>', detail).group(1)
    assert total == "2,000 ten thousand yuan"
    assert "20.0%" in re.search(r'id="funds-rate">(.*?)</dd>', detail, re.S).group(1)
    assert len(events(db, "project.funds_recorded")) == 1
    assert len(events(db, "project.funds_corrected")) == 1


def test_funds_bad_input(client, db, world, switch, app):
    project = add_project(app, db, world)
    switch(world["staff"])
    response = client.post(
        f"/projects/{project.id}/funds",
        data={"month": "2024-13", "source": "within_city", "amount_wan": "1.23456"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_errors(html, "month") == ["Enter a month, e.g. 2024-05."]
    assert field_errors(html, "amount_wan") == [
        "Amount (万元): at most four decimal places (1 yuan = 0.0001 万元)."
    ]
    future = (today().replace(day=1) + timedelta(days=40)).strftime("%Y-%m")
    response = client.post(
        f"/projects/{project.id}/funds",
        data={"month": future, "source": "within_city", "amount_wan": "10"},
    )
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "month") == [
        "Funds cannot be reported for a future month."
    ]
    assert count(db, FundsEntry) == 0


def test_funds_for_an_unsigned_project_are_refused(client, db, world, switch, app):
    project = add_project(app, db, world, stage=ProjectStage.NEGOTIATION)
    switch(world["staff"])
    response = client.post(
        f"/projects/{project.id}/funds",
        data={"month": today().strftime("%Y-%m"), "source": "within_city", "amount_wan": "10"},
    )
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "amount_wan") == [
        "Funds are reported for signed projects only."
    ]


def test_correcting_another_projects_entry_is_404(client, db, world, switch, app):
    mine = add_project(app, db, world)
    theirs = add_project(app, db, world, name="另一个项目")
    with app.test_request_context():
        entry = project_services.record_funds(
            db.session.get(Project, theirs.id),
            actor=world["staff"],
            month=today(),
            source=FundsSource.WITHIN_CITY,
            amount_wan=Decimal("100"),
        )
        db.session.commit()
    switch(world["staff"])
    for corrects in (str(entry.id), "999999", "abc"):
        assert client.get(f"/projects/{mine.id}/funds?corrects={corrects}").status_code == 404
        response = client.post(
            f"/projects/{mine.id}/funds?corrects={corrects}",
            data={"amount_wan": "-1", "note": "x"},
        )
        assert response.status_code == 404
    assert count(db, FundsEntry) == 1


# -- delete and restore ------------------------------------------------------------------------


def test_delete_needs_manage_and_the_admin_can_restore(client, db, world, switch, app):
    project = add_project(app, db, world)
    switch(world["staff"])
    detail = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert f"/projects/{project.id}/delete" not in detail
    assert client.post(f"/projects/{project.id}/delete").status_code == 403

    switch(world["manager"])
    assert f"/projects/{project.id}/delete" in client.get(f"/projects/{project.id}").get_data(
        as_text=True
    )
    response = client.post(f"/projects/{project.id}/delete")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enterprises/{world['firm'].id}")
    assert client.get(f"/projects/{project.id}").status_code == 404
    assert len(events(db, "project.deleted", project.id)) == 1
    file_html = client.get(f"/enterprises/{world['firm'].id}").get_data(as_text=True)
    assert f'data-project="{project.id}"' not in file_html

    switch(world["admin"])
    trash = client.get("/admin/trash?kind=project").get_data(as_text=True)
    assert "长盈精密二期" in trash
    response = client.post(f"/admin/trash/project/{project.id}/restore")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Project, project.id).deleted_at is None
    assert len(events(db, "project.restored", project.id)) == 1
    assert client.get(f"/projects/{project.id}").status_code == 200


# -- access ---------------------------------------------------------------------------------------


def test_staff_of_another_county_gets_404(client, db, world, switch, app):
    project = add_project(app, db, world)
    switch(world["other"])
    for url in ("", "/edit", "/stage", "/funds"):
        assert client.get(f"/projects/{project.id}{url}").status_code == 404, url
    assert client.post(f"/projects/{project.id}/stage", data={}).status_code == 404
    assert client.get(f"/enterprises/{world['firm'].id}/projects/new").status_code == 404
    html = client.get("/projects").get_data(as_text=True)
    assert "长盈精密二期" not in html


def test_a_task_force_sees_the_projects_attached_to_it(client, db, world, switch, make_user, app):
    project = add_project(app, db, world, task_force=world["task_force"])
    member = make_user(Role.STAFF, [world["task_force"]], locale="en")
    switch(member)
    detail = client.get(f"/projects/{project.id}")
    assert detail.status_code == 200
    # The enterprise itself is outside the task force's scope: named, not linked.
    html = detail.get_data(as_text=True)
    assert "宜宾长盈精密技术有限公司" in html
    assert f'href="/enterprises/{world["firm"].id}"' not in html
    assert client.get(f"/enterprises/{world['firm'].id}").status_code == 404
    assert "长盈精密二期" in client.get("/projects").get_data(as_text=True)


def test_leader_reads_but_does_not_change(client, db, world, switch, app):
    project = add_project(app, db, world)
    switch(world["leader"])
    detail = client.get(f"/projects/{project.id}")
    assert detail.status_code == 200
    assert f"/projects/{project.id}/stage" not in detail.get_data(as_text=True)
    assert client.get(f"/projects/{project.id}/edit").status_code == 403
    assert client.get(f"/projects/{project.id}/funds").status_code == 403


# -- the list ----------------------------------------------------------------------------------------


def test_list_filters(client, db, world, switch, app):
    add_project(app, db, world, name="储备项目甲", stage=ProjectStage.RESERVE)
    add_project(
        app,
        db,
        world,
        name="重点项目乙",
        contract_amount_wan=Decimal("150000"),
        task_force=world["task_force"],
    )
    stalled = add_project(app, db, world, name="停滞项目丙", stage=ProjectStage.NEGOTIATION)
    db.session.get(Project, stalled.id).last_progress_on = today() - timedelta(days=45)
    db.session.commit()
    add_project(
        app, db, world, enterprise=world["firm_b"], name="南溪项目丁", county=world["county_b"]
    )

    switch(world["staff"])

    def names(**query):
        html = client.get("/projects", query_string=query).get_data(as_text=True)
        return set(re.findall(r'href="/projects/\d+">([^<]+)</a>', html))

    everything = {"储备项目甲", "重点项目乙", "停滞项目丙"}
    assert names() == everything  # 南溪项目丁 is outside the staff member's scope
    assert names(stage="reserve") == {"储备项目甲"}
    assert names(key="y") == {"重点项目乙"}
    assert names(stalled="y") == {"停滞项目丙"}
    assert names(task_force=world["task_force"].id) == {"重点项目乙"}
    assert names(county=world["county_a"].id) == everything
    assert names(q="重点") == {"重点项目乙"}
    assert names(q="100%") == set()
    assert names(stage="nonsense") == everything  # a bad filter shows the unfiltered list
    switch(world["leader"])
    assert names(county=world["county_b"].id) == {"南溪项目丁"}


def test_list_is_paginated_in_a_constant_number_of_queries(client, db, world, switch, app):
    for i in range(3):
        add_project(app, db, world, name=f"项目{i}")
    switch(world["staff"])
    client.get("/projects")
    with counting_queries(db) as few:
        assert client.get("/projects").status_code == 200
    for i in range(3, 25):
        add_project(app, db, world, name=f"项目{i}", county=world["county_a"])
    with counting_queries(db) as many:
        html = client.get("/projects").get_data(as_text=True)
    assert len(many) == len(few), "\n".join(many)
    assert html.count("data-project=") == 25
    app.config["PAGE_SIZE"], size = 10, app.config["PAGE_SIZE"]
    try:
        page3 = client.get("/projects?page=3").get_data(as_text=True)
        assert page3.count("data-project=") == 5
        assert "page=2" in page3
    finally:
        app.config["PAGE_SIZE"] = size
