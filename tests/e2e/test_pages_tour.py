"""The other pages of enterprises, contacts, visits, home and dashboard pass the page checks.

The journeys cover the common path; this walks once through the remaining forms and
pages (with data and with form errors) so that axe and the translation check see them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.clock import local_today
from crm.contacts.services import create_contact
from crm.extensions import db
from crm.models import Flag, Role, VisitKind
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
