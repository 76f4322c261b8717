"""Journey 1: a staff member finds an enterprise, opens its file and logs a visit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm.clock import local_today
from crm.contacts.services import create_contact
from crm.extensions import db
from crm.models import TimelineEvent

SUMMARY = "介绍了园区用地和电价政策，企业有意扩产"
CONCERN = "希望协调110千伏专线接入时间"
NEXT_STEP = "联系供电公司确认专线方案"


def _happened_yesterday(enterprise) -> None:
    """The file so far was recorded before today (a visit of today is filed at its noon)."""
    events = db.session.execute(
        select(TimelineEvent).where(TimelineEvent.enterprise_id == enterprise.id)
    ).scalars()
    for event in events:
        event.occurred_at -= timedelta(days=1)
    db.session.commit()


def _timeline_top(page) -> list[str]:
    return page.locator("#timeline > li").evaluate_all(
        "items => items.slice(0, 2).map(li => li.dataset.kind)"
    )


def test_staff_logs_a_visit(ui, make_unit, make_user, make_enterprise):
    county = make_unit("翠屏区")
    staff = make_user(units=[county], name="李专员")
    target = make_enterprise("蒙牛乳业（宜宾）有限公司", units=[county], responsible=staff)
    make_enterprise("宜宾长盈精密技术有限公司", units=[county])
    create_contact(target, actor=staff, name="王建国", title="总经理", is_main=True)
    db.session.commit()
    _happened_yesterday(target)
    page = ui.page

    ui.login(staff)
    ui.step("home")
    ui.nav("Enterprises")
    ui.step("register")

    # Two characters of the name are enough (蒙牛).
    search = page.get_by_label(ui.t("Search"), exact=True)
    search.fill("蒙牛")
    ui.press(search, "Enter")
    results = page.locator("table tbody tr")
    assert results.count() == 1
    assert "蒙牛乳业（宜宾）有限公司" in results.first.inner_text()
    ui.step("search-results")

    ui.click(results.first.get_by_role("link", name="蒙牛乳业（宜宾）有限公司"))
    assert page.get_by_role("heading", level=1).inner_text() == "蒙牛乳业（宜宾）有限公司"
    ui.step("file")

    ui.click(page.get_by_role("link", name=ui.t("Log a visit"), exact=True))
    ui.step("visit-form")
    today = local_today()
    due = today + timedelta(days=7)
    page.get_by_label(ui.t("Date"), exact=True).fill(today.isoformat())
    page.get_by_label(ui.t("Place"), exact=True).fill("企业厂区")
    page.get_by_label(ui.t("Contacts met"), exact=True).select_option(label="王建国 · 总经理")
    page.get_by_label(ui.t("Summary"), exact=True).fill(SUMMARY)
    page.get_by_label(ui.t("Concerns raised"), exact=True).fill(CONCERN)
    page.get_by_label(ui.t("What is to be done"), exact=True).fill(NEXT_STEP)
    page.get_by_label(ui.t("Next step due date"), exact=True).fill(due.isoformat())
    ui.click(page.get_by_role("button", name=ui.t("Log visit"), exact=True))

    assert page.get_by_role("alert").filter(has_text=ui.t("The visit was logged.")).is_visible()
    assert f"/enterprises/{target.id}" in page.url
    ui.step("file-after-visit")
    # The visit leads the file. It is filed at noon of its day, so after noon the next
    # step it created (recorded now) sits just above it.
    top = _timeline_top(page)
    assert "visit.logged" in top and set(top) <= {"visit.logged", "follow_up.created"}, top
    visit = page.locator('#timeline > li[data-kind="visit.logged"]').first
    visit_text = visit.inner_text()
    assert SUMMARY in visit_text and CONCERN in visit_text and "王建国" in visit_text
    assert NEXT_STEP in page.locator("#follow-ups").inner_text()

    ui.nav("Follow-ups")
    row = page.locator("tr[data-follow-up]").filter(has_text=NEXT_STEP)
    assert row.count() == 1
    assert "蒙牛乳业（宜宾）有限公司" in row.inner_text()
    ui.step("follow-ups")
