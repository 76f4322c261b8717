"""Journey 5: records of a county the user has no access to are refused, never shown."""

from __future__ import annotations

from crm.contacts.services import create_contact
from crm.extensions import db
from crm.issues.services import create_issue
from crm.models import IssueCategory
from crm.projects.services import create_project

OTHER_NAME = "叙州天原化工有限公司"
OWN_NAME = "翠屏天原物流有限公司"


def test_other_county_is_refused(ui, make_unit, make_user, make_enterprise):
    mine, other = make_unit("翠屏区"), make_unit("叙州区")
    staff = make_user(units=[mine])
    colleague = make_user(units=[other])
    make_enterprise(OWN_NAME, units=[mine], responsible=staff)
    theirs = make_enterprise(OTHER_NAME, units=[other], responsible=colleague)
    contact = create_contact(theirs, actor=colleague, name="赵秘书", phone="13800001111")
    project = create_project(theirs, actor=colleague, name="天原锂电材料二期", county=other)
    issue = create_issue(
        theirs, actor=colleague, category=IssueCategory.POWER, title="天原厂区用电增容"
    )
    db.session.commit()
    secrets = [OTHER_NAME, theirs.credit_code, contact.name, contact.phone, project.name]
    secrets.append(issue.title)
    page = ui.page

    ui.login(staff)
    for step, path in [
        ("enterprise", f"/enterprises/{theirs.id}"),
        ("dossier", f"/enterprises/{theirs.id}/dossier"),
        ("project", f"/projects/{project.id}"),
        ("issue", f"/issues/{issue.id}"),
    ]:
        ui.goto(path, status=404)
        refusal = ui.t(
            "The page or record does not exist, or belongs to units you have no access to. "
            "If you need it, ask a manager of those units or an administrator."
        )
        assert page.get_by_text(refusal, exact=True).is_visible(), path
        html = page.content()
        leaked = [s for s in secrets if s in html]
        assert not leaked, f"{path} shows {leaked}"
        ui.step(f"refused-{step}")

    # The register's search lists what the user may see, and nothing of the other county.
    ui.nav("Enterprises")
    search = page.get_by_label(ui.t("Search"), exact=True)
    search.fill("天原")
    ui.press(search, "Enter")
    listed = page.locator("table tbody tr").all_inner_texts()
    assert len(listed) == 1 and OWN_NAME in listed[0], listed
    assert OTHER_NAME not in page.content()
    ui.step("search-own-only")

    search = page.get_by_label(ui.t("Search"), exact=True)
    search.fill(theirs.credit_code)
    ui.press(search, "Enter")
    assert page.get_by_text(ui.t("No enterprise matches.")).is_visible()
    assert OTHER_NAME not in page.content()
    ui.step("search-by-code")
