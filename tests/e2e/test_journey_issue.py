"""Journey 2: an enterprise issue (诉求) is raised, assigned, escalated when late, resolved,
called back with a low score (which reopens it and escalates it one level higher), resolved
again and closed.

Staff member 张敏 (翠屏区) raises it, manager 孙科长 (翠屏区) assigns it to her, and
nobody accepts it in time. Between the browser steps, time passes the only way a test
can make it pass: the step's deadline is moved into the past and the reminder sweep runs
(journey_helpers). The escalation is then read where people read it: the manager's list
of escalated issues, the badges and levels on the issue, the enterprise's file.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm.clock import local_today
from crm.extensions import db
from crm.models import EnterpriseIssue, IssueStatus
from tests.e2e.journey_helpers import issue_world, let_step_run_late, sweep_reminders, switch_user

TITLE = "110千伏专线接入迟迟未落实"
DESCRIPTION = "企业扩产线下月投产，需供电公司尽快确定专线接入方案和时间。"
SOLUTION = "协调供电公司现场踏勘，拟定临时接入方案"
FIRST_FIX = "已协调临时接入，专线方案待审批"
SECOND_FIX = "专线方案获批，供电公司已完成接入"


def _issue() -> EnterpriseIssue:
    db.session.expire_all()
    return db.session.execute(select(EnterpriseIssue)).scalar_one()


def _status_badge(ui) -> str:
    return ui.page.locator("h1 .badge").first.inner_text().strip()


# The status labels' msgids (crm.labels.ISSUE_STATUS), for the language-independent checks.
STATUS_MSGIDS = {
    IssueStatus.ACCEPTED: "Accepted",
    IssueStatus.IN_PROGRESS: "In progress",
    IssueStatus.RESOLVED: "Resolved",
    IssueStatus.CALLBACK: "Called back",
    IssueStatus.CLOSED: "Closed",
}


def _label(ui, status: IssueStatus) -> str:
    return ui.t(STATUS_MSGIDS[status])


def _take_step(ui, action: str, note: str | None = None) -> None:
    """One button of the "Next step" section (accept, start, resolve, close)."""
    form = ui.page.locator(f'form[data-action="{action}"]')
    if note is not None:
        form.locator("textarea").fill(note)
    ui.click(form.get_by_role("button"))


def _call_back(ui, score: int, comment: str) -> None:
    page = ui.page
    ui.click(page.get_by_role("link", name=ui.t("Record the callback"), exact=True))
    ui.step(f"callback-form-{score}")
    page.get_by_label(ui.t("Satisfaction"), exact=True).select_option(str(score))
    page.get_by_label(ui.t("The enterprise's comment"), exact=True).fill(comment)
    ui.click(page.get_by_role("button", name=ui.t("Record the callback"), exact=True))


def test_issue_is_escalated_reopened_and_closed(ui, make_unit, make_user, make_enterprise):
    world = issue_world(make_unit, make_user, make_enterprise)
    staff, manager, firm = world["staff"], world["manager"], world["enterprise"]
    page = ui.page

    # -- raised by the staff member from the enterprise's file --------------------------
    ui.login(staff)
    ui.goto(f"/enterprises/{firm.id}")
    ui.step("file")
    ui.click(page.get_by_role("link", name=ui.t("Raise an issue"), exact=True))
    ui.step("issue-form")
    page.get_by_label(ui.t("Category"), exact=True).select_option("power")
    page.get_by_label(ui.t("Due date"), exact=True).fill(
        (local_today() + timedelta(days=14)).isoformat()
    )
    page.get_by_label(ui.t("Title"), exact=True).fill(TITLE)
    page.get_by_label(ui.t("Description"), exact=True).fill(DESCRIPTION)
    page.get_by_label(ui.t("Responsible unit"), exact=True).select_option(label="翠屏区")
    ui.click(page.get_by_role("button", name=ui.t("Log issue"), exact=True))
    assert page.get_by_role("alert").filter(has_text=ui.t("The issue was logged.")).is_visible()
    assert TITLE in page.locator("#issues").inner_text()
    ui.step("file-with-issue")
    issue = _issue()
    assert issue.status == IssueStatus.NEW and issue.assignee is None

    # -- assigned by the county's manager -----------------------------------------------
    switch_user(ui, manager)
    ui.nav("Enterprise issues")
    ui.step("issue-list")
    ui.click(page.locator(f'tr[data-issue="{issue.id}"]').get_by_role("link", name=TITLE))
    ui.step("issue-new")
    ui.click(page.get_by_role("link", name=ui.t("Reassign"), exact=True))
    ui.step("reassign-form")
    page.get_by_label(ui.t("Assigned to"), exact=True).select_option(label=staff.name)
    page.get_by_label(ui.t("Reason"), exact=True).fill("由张敏负责对接供电公司")
    ui.click(page.get_by_role("button", name=ui.t("Reassign"), exact=True))
    assert page.get_by_role("alert").filter(has_text=ui.t("The issue was reassigned.")).count()
    assert staff.name in page.locator("dl").inner_text()
    ui.step("issue-assigned")
    assert page.locator("[data-escalated]").count() == 0

    # -- nobody accepts it in time: the sweep escalates it to the county's managers ---------
    let_step_run_late(issue.id, minutes=20)
    # Escalating does not wait for the mail: whatever the mail server says, it happened.
    assert sweep_reminders(), "no reminder was due"
    ui.goto("/issues")
    page.get_by_label(ui.t("Step deadline"), exact=True).select_option("escalated")
    ui.click(page.get_by_role("button", name=ui.t("Filter"), exact=True))
    rows = page.locator("tr[data-issue]")
    assert rows.count() == 1 and rows.first.get_attribute("data-issue") == str(issue.id)
    assert rows.first.locator("[data-escalated]").is_visible()
    ui.step("escalated-issues")
    ui.click(rows.first.get_by_role("link", name=TITLE))
    assert page.locator("h1 [data-step-overdue]").is_visible()
    assert page.locator("h1 [data-escalated]").inner_text().strip() == ui.t("Escalated")
    escalations = page.locator("#escalations [data-escalation]")
    assert escalations.count() == 1
    level_1 = escalations.first.inner_text()
    assert ui.t("Level %(level)s", level=1) in level_1 and "翠屏区" in level_1
    ui.step("issue-escalated")

    # -- the assignee reads it in the enterprise's file, accepts late, works on it ---------
    switch_user(ui, staff)
    ui.goto(f"/enterprises/{firm.id}")
    escalated_event = page.locator('#timeline > li[data-kind="issue.escalated"]')
    assert escalated_event.count() == 1 and "翠屏区" in escalated_event.inner_text()
    ui.step("file-escalation")
    ui.click(escalated_event.locator(f'a[href$="/issues/{issue.id}"]'))
    _take_step(ui, "accept")
    assert _status_badge(ui) == _label(ui, IssueStatus.ACCEPTED)
    assert page.locator('tr[data-step="accepted"] [data-late]').count() == 1  # taken late
    _take_step(ui, "start", SOLUTION)
    assert _status_badge(ui) == _label(ui, IssueStatus.IN_PROGRESS)
    _take_step(ui, "resolve", FIRST_FIX)
    assert _status_badge(ui) == _label(ui, IssueStatus.RESOLVED)
    ui.step("issue-resolved")
    _call_back(ui, 2, "临时接入电压不稳，影响试生产")
    reopened = ui.t("The enterprise is not satisfied: the issue was reopened.")
    assert page.get_by_role("alert").filter(has_text=reopened).is_visible()
    assert _status_badge(ui) == _label(ui, IssueStatus.IN_PROGRESS)
    details = page.locator("dl").inner_text()
    assert "2 / 5" in details and ui.t("Reopened %(num)s times", num=1) in details
    # The reopening escalates at once, one level higher: the bureau.
    assert page.locator("#escalations [data-escalation]").count() == 2
    level_2 = page.locator('#escalations [data-escalation="2"]').inner_text()
    assert "宜宾市投资促进局" in level_2
    ui.step("issue-reopened")

    # -- resolved again, a satisfied callback, closed ------------------------------------
    _take_step(ui, "resolve", SECOND_FIX)
    _call_back(ui, 4, "专线已通电，企业满意")
    assert page.get_by_role("alert").filter(has_text=ui.t("The callback was recorded.")).count()
    assert _status_badge(ui) == _label(ui, IssueStatus.CALLBACK)
    _take_step(ui, "close")
    assert _status_badge(ui) == _label(ui, IssueStatus.CLOSED)
    assert page.locator("#next-steps").count() == 0
    steps = page.locator("tr[data-step]")
    assert [steps.nth(i).get_attribute("data-step") for i in range(steps.count())] == [
        "new",  # the reassignment (status unchanged)
        "accepted",
        "in_progress",
        "resolved",
        "in_progress",  # reopened by the callback
        "resolved",
        "callback",
        "closed",
    ]
    ui.step("issue-closed")
    issue = _issue()
    assert issue.status == IssueStatus.CLOSED and issue.reopened_count == 1
