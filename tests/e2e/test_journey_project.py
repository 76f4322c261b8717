"""Journey 3: a manager records a signing, sees the dashboard move, publishes the monthly
ranking and downloads it as .xlsx.

The world (journey_helpers.project_world): in 翠屏区 one project signed and landed on the
first day of the month that was current ten days ago, another in negotiation. The manager records the second
as signed ten days ago (a past date). On the dashboard of that month the month's
signings go from 1 to 2 and the landing rate of the year's signed projects from 100 % to
50 % — in the tiles, the tables and the charts ECharts draws. The ranking of that month,
published and downloaded, ranks 翠屏区 first with its two signings.
"""

from __future__ import annotations

from babel.dates import format_date

from crm.clock import local_today
from crm.extensions import db
from crm.models import MonthlyReport, Project, ProjectStage
from tests.e2e.journey_helpers import ProjectDates, project_world, workbook_rows

SIGNING_NOTE = "集中签约活动签约"


def _show_period(ui, dates: ProjectDates) -> None:
    """The dashboard's selector: the month of the signing."""
    page = ui.page
    page.get_by_label(ui.t("Year"), exact=True).select_option(str(dates.year))
    page.get_by_label(ui.t("Month"), exact=True).select_option(str(dates.month))
    ui.click(page.get_by_role("button", name=ui.t("Show"), exact=True))


def _board(ui, month: int) -> dict:
    """What the dashboard says: tiles, tables, and the values its charts were drawn with."""
    page = ui.page
    page.wait_for_function(
        "() => ['stages', 'monthly', 'rates'].every("
        "n => window.echarts.getInstanceByDom(document.getElementById('chart-' + n)))"
    )
    charts = page.evaluate(
        """(month) => {
          const series = (name) =>
            window.echarts.getInstanceByDom(document.getElementById("chart-" + name))
              .getOption().series;
          const rates = series("rates")[0].data;
          return {
            monthly: series("monthly")[0].data[month - 1],
            stages: series("stages")[0].data,
            landing: typeof rates[0] === "object" && rates[0] !== null ? rates[0].value : rates[0],
            svg: ["stages", "monthly", "rates"].every(
              (n) => document.querySelector("#chart-" + n + " svg") !== null),
          };
        }""",
        month,
    )
    month_row = page.locator(f'[data-table="monthly"] tr[data-month="{month}"] td').first
    return {
        "signed_month": page.locator('[data-signed="month"] [data-count]').inner_text().strip(),
        "landing_rate": page.locator('[data-rate="landing_rate"] [data-value]').inner_text(),
        "landing_row": page.locator('[data-rate-row="landing_rate"] td').first.inner_text(),
        "monthly_table": month_row.inner_text().strip(),
        "negotiation": page.locator('[data-stage="negotiation"] td').inner_text().strip(),
        "signed_stage": page.locator('[data-stage="signed"] td').inner_text().strip(),
        **{f"chart_{k}": v for k, v in charts.items()},
    }


def _month_title(ui, dates: ProjectDates) -> str:
    """As crm.reports.services.month_title writes it: 2026年11月 / November 2026."""
    if ui.lang == "zh":
        return f"{dates.year}年{dates.month}月"
    return format_date(dates.signed.replace(day=1), "MMMM y", locale="en")


def _percent(text: str) -> str:
    return "".join(text.split()).replace("％", "%")


def test_signing_moves_the_dashboard_and_the_ranking_is_published(
    ui, app, tmp_path, make_unit, make_user, make_enterprise
):
    dates = ProjectDates.recent()
    world = project_world(app, make_unit, make_user, make_enterprise, dates)
    project = world["negotiating"]
    page = ui.page

    ui.login(world["manager"])
    ui.nav("Dashboard")
    _show_period(ui, dates)
    before = _board(ui, dates.month)
    ui.step("dashboard-before")
    assert before["signed_month"] == "1" and before["monthly_table"] == "1"
    assert _percent(before["landing_rate"]) == "100.0%", before
    assert before["chart_monthly"] == 1 and before["chart_landing"] == 100, before
    assert before["chart_svg"], "the charts were not drawn"

    # -- the signing, dated ten days ago ------------------------------------------------
    ui.nav("Projects")
    ui.step("projects")
    ui.click(page.get_by_role("link", name=project.name, exact=True))
    ui.step("project-negotiation")
    ui.click(page.get_by_role("link", name=ui.t("Change stage"), exact=True))
    ui.step("stage-form")
    stage = page.get_by_label(ui.t("New stage"), exact=True)
    assert stage.input_value() == ProjectStage.SIGNED.value  # the next rung is offered first
    page.get_by_label(ui.t("Effective date"), exact=True).fill(dates.signed.isoformat())
    page.get_by_label(ui.t("Reason"), exact=True).fill(SIGNING_NOTE)
    ui.click(page.get_by_role("button", name=ui.t("Record the change"), exact=True))
    assert page.get_by_role("alert").filter(has_text=ui.t("The stage change was recorded.")).count()
    assert page.locator('#stage-ladder [data-rung="signed"]').get_attribute("data-reached") == "yes"
    ui.step("project-signed")
    db.session.expire_all()
    signed = db.session.get(Project, project.id)
    assert signed.stage == ProjectStage.SIGNED and signed.signed_on == dates.signed

    # -- the dashboard of that month has moved -----------------------------------------
    ui.nav("Dashboard")
    _show_period(ui, dates)
    after = _board(ui, dates.month)
    ui.step("dashboard-after")
    assert after["signed_month"] == "2" and after["monthly_table"] == "2", after
    assert _percent(after["landing_rate"]) == "50.0%", after
    assert (after["negotiation"], after["signed_stage"]) == ("0", "1"), after
    assert after["chart_monthly"] == 2 and after["chart_landing"] == 50, after
    assert after["chart_stages"] != before["chart_stages"]

    # -- the month's ranking: published, then downloaded -----------------------------------
    ui.nav("Monthly ranking")
    if dates.year != local_today().year:  # the ranking opens on this year
        page.get_by_label(ui.t("Year"), exact=True).select_option(str(dates.year))
        ui.click(page.get_by_role("button", name=ui.t("Show"), exact=True))
    ui.step("ranking-months")
    title = _month_title(ui, dates)
    ui.click(page.locator(f'#months tr[data-month="{dates.month}"] a').first)
    ui.step("ranking-month")
    counties = page.locator('section.ranking[data-kind="county"] tbody tr')
    assert counties.first.locator("th").inner_text().strip() == "翠屏区"
    assert counties.first.get_attribute("data-rank") == "1"
    assert counties.first.locator('[data-metric="signed"]').inner_text().strip() == "2"

    page.locator("details > summary").click()
    page.get_by_label(ui.t("Note (optional)"), exact=True).fill("本月集中签约已计入")
    page.once("dialog", lambda dialog: dialog.accept())  # "Publish and freeze …?"
    ui.click(page.get_by_role("button", name=ui.t("Publish and freeze"), exact=True))
    published = ui.t("The report for %(month)s was published and is now frozen.", month=title)
    assert page.get_by_role("alert").filter(has_text=published).count()
    assert page.locator("#report-status").inner_text().startswith(ui.t("Published"))
    ui.step("ranking-published")
    db.session.expire_all()
    assert db.session.query(MonthlyReport).count() == 1

    with page.expect_download() as download_info:
        page.get_by_role("link", name=ui.t("Download .xlsx"), exact=True).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / "ranking.xlsx"
    download.save_as(saved)
    sheets = workbook_rows(saved)
    # One sheet per ranked kind, counties first, named as Excel allows ("/" is not).
    assert list(sheets)[0] == ui.t("Counties / districts").replace("/", "-")
    county_sheet = list(sheets.values())[0]
    header = county_sheet[2]
    assert header[:2] == (ui.t("Rank"), ui.t("County / district"))
    ranked = {row[1]: row for row in county_sheet[3:] if row[1]}
    assert set(ranked) == {"翠屏区", "南溪区"}
    assert ranked["翠屏区"][0] == 1 and ranked["翠屏区"][2] == 2  # rank, signed projects
    assert ranked["南溪区"][0] == 2 and ranked["南溪区"][2] == 0
    assert title in county_sheet[0][0]
