"""Journey 4: an admin imports an enterprise list with a bad row and a misread column.

The file has 1,100 rows, more than ``crm.imports.jobs.LARGE_ROWS``: checking and importing
run in a real Celery worker while the page polls the job's progress. The worker is held
still (paused) while the browser looks at the queued job, so the progress bar is seen
every time, then let go; the page must notice the end by itself (import-progress.js).
Above ``PREVIEW_LIMIT`` rows a preview lists only the rows not simply created.

The first preview refuses row 5 (a mistyped credit code) and the four listed firms: the
column "上市公司代码" (their stock codes) is guessed as "listed company (yes/no)". The
admin ignores that column in the column step; the new preview refuses only row 5,
naming the row and the field (统一社会信用代码). The other 1,099 rows are imported.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.imports import jobs
from crm.models import Enterprise, ImportJob, ImportStatus, Role
from tests.e2e.journey_helpers import PausableWorker, enterprise_sheet
from tests.worker import CeleryProcess, running

ROWS = 1100
BAD_ROW = 4  # the fourth data row: row 5 of the sheet
SHEET_ROW = BAD_ROW + 1
LISTED_EVERY = 250  # data rows 250, 500, 750 and 1000 carry a stock code
LISTED_SHEET_ROWS = [n + 1 for n in range(LISTED_EVERY, ROWS + 1, LISTED_EVERY)]
MISREAD_COLUMN = "上市公司代码"
CHECK_CHARACTER = (
    "The check character (the last one) does not fit the first 17: "
    "the code has a typing error. Please compare it with the business licence."
)
FINISH_MS = 30_000  # the worker's broker poll, the task, the page's next poll and reload


@pytest.fixture(scope="module")
def worker(app):
    """One real worker for the module's four variants (starting one costs seconds)."""
    process = CeleryProcess("worker")
    with running(process):
        yield PausableWorker(process)


def _status(ui, msgid: str):
    return ui.page.locator("[data-import-status]").filter(has_text=ui.t(msgid))


def _wait_for_status(ui, worker, msgid: str) -> None:
    """The page reloads itself when the job moves on; wait for the status it then shows."""
    try:
        _status(ui, msgid).wait_for(timeout=FINISH_MS)
    except Exception as error:  # noqa: BLE001 - say what the worker did
        raise AssertionError(f"no “{msgid}” on the page; worker:\n{worker.output()}") from error


def _count(ui, action: str) -> int:
    return int(ui.page.locator(f'[data-count="{action}"]').inner_text())


def _queued_page(ui, worker, button, status_msgid: str, step: str) -> None:
    """Press ``button`` while the worker is held: the job waits, its bar shows 0 %."""
    with worker.paused():
        ui.click(button)
        bar = ui.page.locator("[data-import-progress] .progress")
        assert _status(ui, status_msgid).is_visible()
        assert bar.get_attribute("aria-valuenow") == "0"
        ui.step(step)


def test_admin_fixes_the_mapping_and_imports(ui, worker, make_unit, make_user):
    assert ROWS > jobs.LARGE_ROWS and ROWS > jobs.PREVIEW_LIMIT  # a task; only notable rows
    make_unit("翠屏区")
    admin = make_user(Role.ADMIN, name="管理员")
    page = ui.page
    polls: list[dict] = []

    def record_progress(route):
        response = route.fetch()
        polls.append(response.json())
        route.fulfill(response=response)

    page.route("**/imports/*/progress", record_progress)

    ui.login(admin)
    ui.nav("Import")
    ui.step("imports")
    ui.click(page.get_by_role("link", name=ui.t("Upload a file"), exact=True))
    ui.step("upload-form")
    page.get_by_label(ui.t("What the file holds"), exact=True).select_option("enterprises")
    page.get_by_label(ui.t("File"), exact=True).set_input_files(
        files=[
            {
                "name": "翠屏区企业名录.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": enterprise_sheet(
                    ROWS, bad_row=BAD_ROW, listed_every=LISTED_EVERY, unit="翠屏区"
                ),
            }
        ]
    )
    ui.click(page.get_by_role("button", name=ui.t("Upload"), exact=True))
    misread = page.get_by_label(MISREAD_COLUMN, exact=True)
    assert misread.input_value() == "is_listed"  # the guess: "listed company"
    ui.step("mapping-guessed")
    check_rows = page.get_by_role("button", name=ui.t("Check the rows"), exact=True)

    # -- the first preview: the bad row and the listed firms are refused ------------------
    _queued_page(ui, worker, check_rows, "Checking rows", "checking")
    _wait_for_status(ui, worker, "Preview ready")
    refused = 1 + len(LISTED_SHEET_ROWS)
    assert (_count(ui, "create"), _count(ui, "refuse")) == (ROWS - refused, refused)
    listed_rows = page.locator("tr[data-row]")
    assert [int(r) for r in listed_rows.evaluate_all("rs => rs.map(r => r.dataset.row)")] == [
        SHEET_ROW,
        *LISTED_SHEET_ROWS,
    ]
    bad = page.locator(f'tr[data-row="{SHEET_ROW}"]')
    assert "统一社会信用代码" in bad.inner_text() and ui.t(CHECK_CHARACTER) in bad.inner_text()
    stock = page.locator(f'tr[data-row="{LISTED_SHEET_ROWS[0]}"]').inner_text()
    assert MISREAD_COLUMN in stock and ui.t("Not yes or no: %(value)s", value="300250") in stock
    ui.step("preview-misread")

    # -- the column step: the stock codes are not imported --------------------------------
    ui.click(page.get_by_role("link", name=ui.t("Change the columns"), exact=True))
    page.get_by_label(MISREAD_COLUMN, exact=True).select_option("")
    ui.step("mapping-fixed")
    check_rows = page.get_by_role("button", name=ui.t("Check the rows"), exact=True)
    _queued_page(ui, worker, check_rows, "Checking rows", "checking-again")
    _wait_for_status(ui, worker, "Preview ready")
    assert (_count(ui, "create"), _count(ui, "refuse")) == (ROWS - 1, 1)
    bad = page.locator(f'tr[data-row="{SHEET_ROW}"]')
    assert bad.locator("td").first.inner_text().strip() == str(SHEET_ROW)
    reasons = bad.locator("td").nth(3).inner_text()
    assert reasons.strip() == f"统一社会信用代码: {ui.t(CHECK_CHARACTER)}", reasons
    assert page.locator("tr[data-row]").count() == 1  # the created rows are not listed
    ui.step("preview-one-refused")

    # -- the import: queued, then the bar runs to the end and the page shows the result -----
    polls.clear()
    import_rows = page.get_by_role("button", name=ui.t("Import the accepted rows"), exact=True)
    _queued_page(ui, worker, import_rows, "Queued", "import-queued")
    _wait_for_status(ui, worker, "Imported")
    finished = [poll for poll in polls if poll["finished"]]
    assert finished, polls
    assert finished[-1]["status"] == "done" and finished[-1]["percent"] == 100, polls
    assert page.locator("[data-import-progress]").count() == 0
    assert (_count(ui, "create"), _count(ui, "refuse")) == (ROWS - 1, 1)
    ui.step("imported")

    db.session.expire_all()
    job = db.session.execute(select(ImportJob)).scalar_one()
    assert job.status == ImportStatus.DONE
    created = db.session.execute(select(func.count()).select_from(Enterprise)).scalar_one()
    assert created == ROWS - 1
