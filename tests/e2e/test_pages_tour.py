"""The other pages of enterprises, contacts, visits, home and dashboard pass the page checks.

The journeys cover the common path; this walks once through the remaining forms and
pages (with data and with form errors) so that axe and the translation check see them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from crm.clock import local_today
from crm.contacts.services import create_contact
from crm.extensions import db
from crm.issues.services import create_issue
from crm.models import Flag, IssueCategory, ProjectStage, Role, UnitKind, VisitKind
from crm.projects.services import create_project
from crm.visits.services import log_visit


@pytest.mark.parametrize("variant", ["desktop-en", "phone-zh"], indirect=True)
def test_tour_of_enterprise_pages(ui, make_unit, make_user, make_enterprise):
    county = make_unit("翠屏区")
    manager = make_user(Role.MANAGER, units=[county], name="周科长")
    enterprise = make_enterprise(
        "宜宾丝丽雅集团有限公司", units=[county], responsible=manager, name_en="Grace Group"
    )
    contact = create_contact(enterprise, actor=manager, name="刘总", title="董事长", is_main=True)
    visit = log_visit(
        enterprise,
        actor=manager,
        kind=VisitKind.DOOR_KNOCKING,
        visit_date=local_today(),
        summary="谈二期扩产",
        concerns="用工紧张",
        flag=Flag.RED,
        participants=[manager],
        contacts_met=[contact],
        next_step_title="组织招聘会",
        next_step_due=local_today() + timedelta(days=2),
    )
    db.session.commit()
    page = ui.page

    ui.login(manager)
    ui.step("home-with-data")
    for name, path in [
        # As a manager: the file shows the delete button staff never see.
        ("file-as-manager", f"/enterprises/{enterprise.id}"),
        ("enterprise-new", "/enterprises/new"),
        ("enterprise-edit", f"/enterprises/{enterprise.id}/edit"),
        ("contact-new", f"/enterprises/{enterprise.id}/contacts/new"),
        ("contact-edit", f"/contacts/{contact.id}/edit"),
        ("visit", f"/visits/{visit.id}"),
        ("visit-edit", f"/visits/{visit.id}/edit"),
        ("dossier", f"/enterprises/{enterprise.id}/dossier"),
        ("dashboard", "/dashboard"),
        ("follow-ups-all", "/follow-ups?who=all"),
        ("enterprise-new-errors", "/enterprises/new"),
    ]:
        ui.goto(path)
        if name.endswith("-errors"):
            ui.click(page.get_by_role("button", name=ui.t("Save"), exact=True), status=None)
            assert page.locator("[aria-invalid=true]").count() > 0
        ui.step(name)


@pytest.mark.parametrize("variant", ["desktop-zh", "phone-en"], indirect=True)
def test_tour_of_manager_and_admin_pages(ui, make_unit, make_user, make_enterprise):
    """The lists, figures and settings pages the journeys do not open, as an admin
    (who sees every menu), with an enterprise, a project and an issue to list."""
    bureau = make_unit("宜宾市投资促进局", UnitKind.BUREAU)
    county = make_unit("翠屏区", UnitKind.COUNTY, parent=bureau)
    admin = make_user(Role.ADMIN, name="王管理员")
    staff = make_user(Role.STAFF, units=[county], name="李专员")
    enterprise = make_enterprise("宜宾长盈精密技术有限公司", units=[county], responsible=staff)
    project = create_project(
        enterprise,
        actor=admin,
        name="长盈精密结构件项目",
        county=county,
        stage=ProjectStage.SIGNED,
        stage_on=local_today() - timedelta(days=3),
        contract_amount_wan=Decimal("50000"),
    )
    create_issue(
        enterprise,
        actor=admin,
        category=IssueCategory.POWER,
        title="专线电力增容",
        description="二期投产前需增容",
        due_date=local_today() + timedelta(days=10),
        assignee=staff,
        unit=county,
    )
    db.session.commit()
    today = local_today()

    ui.login(admin)
    for name, path in [
        ("projects", "/projects"),
        ("project", f"/projects/{project.id}"),
        ("opportunities", "/opportunities"),
        ("issues", "/issues"),
        ("issue-figures", "/issues/figures"),
        ("supervision", "/supervision"),
        ("reports", "/reports"),
        ("report-month", f"/reports/{today.year}/{today.month}"),
        ("dashboard-unit", f"/dashboard/units/{county.id}"),
        ("account-reminders", "/account/reminders"),
        ("account-tokens", "/account/tokens"),
        ("admin", "/admin/"),
        ("admin-users", "/admin/users"),
        ("admin-user-new", "/admin/users/new"),
        ("admin-units", "/admin/units"),
        ("admin-industries", "/admin/reference/industries"),
        ("admin-trash", "/admin/trash"),
        ("admin-targets", "/admin/targets/"),
        ("admin-counting-rules", "/admin/targets/rules"),
        ("admin-thresholds", "/admin/targets/thresholds"),
        ("admin-issue-rules", "/admin/issue-rules/"),
        ("admin-mail-deliveries", "/admin/mail/deliveries"),
        ("imports", "/imports/"),
    ]:
        ui.goto(path)
        ui.step(name)
