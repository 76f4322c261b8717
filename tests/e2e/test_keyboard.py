"""Forms work with the keyboard alone: sign in and log a visit with Tab, typing, Enter, Space."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.clock import local_today
from crm.contacts.services import create_contact
from crm.extensions import db
from crm.models import FollowUp, Visit
from tests.conftest import PASSWORD

# The focused element shows it (WCAG 2.4.7): an outline or Bootstrap's focus ring.
FOCUS_SHOWN = """el => {
  const style = getComputedStyle(el);
  return (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
    || style.boxShadow !== "none";
}"""


def tab_to(ui, locator, limit: int = 60) -> None:
    """Press Tab until ``locator`` has the focus: it must be reachable in the tab order."""
    keyboard = ui.page.keyboard
    for _ in range(limit):
        if locator.evaluate("el => el === document.activeElement"):
            assert locator.evaluate(FOCUS_SHOWN), f"{locator} has the focus but does not show it"
            return
        keyboard.press("Tab")
    raise AssertionError(f"{locator} is not reachable with Tab")


def type_date(ui, locator, day) -> None:
    # Chromium's date box takes digits segment by segment, in the order it displays them.
    tab_to(ui, locator)
    ui.page.keyboard.type(f"{day.month:02d}{day.day:02d}{day.year}")
    assert locator.input_value() == day.isoformat()


@pytest.mark.parametrize("variant", ["desktop-zh"], indirect=True)
def test_login_and_visit_form_by_keyboard(ui, make_unit, make_user, make_enterprise):
    county = make_unit("翠屏区")
    staff = make_user(units=[county])
    enterprise = make_enterprise("长盈精密（宜宾）有限公司", units=[county], responsible=staff)
    create_contact(enterprise, actor=staff, name="陈主任", title="办公室主任")
    db.session.commit()
    page, keyboard = ui.page, ui.page.keyboard

    # Sign in: Tab to each field, type, tick "keep me signed in" with Space, submit with Enter.
    ui.goto("/login")
    page.locator("body").focus()
    tab_to(ui, page.get_by_label(ui.t("Email"), exact=True))
    keyboard.type(staff.email)
    tab_to(ui, page.get_by_label(ui.t("Password"), exact=True))
    keyboard.type(PASSWORD)
    remember = page.get_by_label(ui.t("Keep me signed in"), exact=True)
    tab_to(ui, remember)
    keyboard.press("Space")
    assert remember.is_checked()
    submit = page.get_by_role("button", name=ui.t("Sign in"), exact=True)
    tab_to(ui, submit)
    ui.press(submit, "Enter")
    assert "/login" not in page.url

    # From the file, the visit form is opened and filled without the mouse.
    ui.goto(f"/enterprises/{enterprise.id}")
    log_visit = page.get_by_role("link", name=ui.t("Log a visit"), exact=True)
    tab_to(ui, log_visit)
    ui.press(log_visit, "Enter")
    ui.step("visit-form")

    today = local_today()
    type_date(ui, page.get_by_label(ui.t("Date"), exact=True), today)
    tab_to(ui, page.get_by_label(ui.t("Place"), exact=True))
    keyboard.type("园区管委会")
    contacts = page.get_by_label(ui.t("Contacts met"), exact=True)
    tab_to(ui, contacts)
    keyboard.press("ArrowDown")  # a list box: the arrow selects the first contact
    assert contacts.evaluate("el => [...el.selectedOptions].map(o => o.text)") == [
        "陈主任 · 办公室主任"
    ]
    tab_to(ui, page.get_by_label(ui.t("Summary"), exact=True))
    keyboard.type("键盘填写的走访记录")
    tab_to(ui, page.get_by_label(ui.t("Concerns raised"), exact=True))
    keyboard.type("厂房消防验收进度")
    tab_to(ui, page.get_by_label(ui.t("What is to be done"), exact=True))
    keyboard.type("协调消防验收")
    type_date(ui, page.get_by_label(ui.t("Next step due date"), exact=True), today + timedelta(3))
    submit = page.get_by_role("button", name=ui.t("Log visit"), exact=True)
    tab_to(ui, submit)
    ui.press(submit, "Space")
    ui.step("saved")

    assert page.get_by_role("alert").filter(has_text=ui.t("The visit was logged.")).is_visible()
    visit = db.session.execute(select(Visit)).scalar_one()
    assert (visit.summary, visit.concerns, visit.place) == (
        "键盘填写的走访记录",
        "厂房消防验收进度",
        "园区管委会",
    )
    assert [c.name for c in visit.contacts_met] == ["陈主任"]
    follow_up = db.session.execute(select(FollowUp)).scalar_one()
    assert (follow_up.title, follow_up.due_date) == ("协调消防验收", today + timedelta(3))
    db.session.rollback()
