"""Worlds and moves shared by the journey tests (issues, projects, imports).

The browser does what a person does; what no person does in the browser
(the clock moving on, Celery beat sweeping reminders) happens here, through the
application's own services and task functions — never a stand-in for them.
"""

from __future__ import annotations

import io
import signal
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
from sqlalchemy import update

from crm.clock import local_today
from crm.enterprises.credit_code import complete
from crm.extensions import db
from crm.models import EnterpriseIssue, ProjectStage, Role, Target, UnitKind
from crm.models.base import utcnow

# -- people -------------------------------------------------------------------------------


def switch_user(ui, user) -> None:
    """Sign out (drop the session cookie) and sign in as ``user`` on the same page."""
    ui.page.context.clear_cookies()
    ui.login(user)


# -- enterprise issues -----------------------------------------------------------------------


def issue_world(make_unit, make_user, make_enterprise) -> dict:
    """A bureau over a county; a manager in each (the two escalation levels), staff in the county.

    Staff raise the issue, the county's manager assigns it; level 1 of an escalation
    is the county's managers, level 2 the bureau's.
    """
    bureau = make_unit("宜宾市投资促进局", UnitKind.BUREAU)
    county = make_unit("翠屏区", UnitKind.COUNTY, parent=bureau)
    return {
        "bureau": bureau,
        "county": county,
        "staff": make_user(Role.STAFF, [county], name="张敏"),
        "manager": make_user(Role.MANAGER, [county], name="孙科长"),
        "director": make_user(Role.MANAGER, [bureau], name="钱处长"),
        "enterprise": make_enterprise("宜宾长盈精密技术有限公司", units=[county]),
    }


def let_step_run_late(issue_id: int, minutes: int = 20) -> None:
    """The clock moves on: the issue's current step was due ``minutes`` ago.

    The app has no settable clock (deadlines are compared with ``utcnow()``), so
    the deadline moves back instead, and the issue's reminders are replanned as a
    service does after any change. A short step escalates every 15 minutes at the
    least (crm.reminders.plans.IssuePlan), so 20 minutes late is one level due.
    """
    from crm.reminders import planner

    db.session.execute(
        update(EnterpriseIssue)
        .where(EnterpriseIssue.id == issue_id)
        .values(step_due_at=utcnow() - timedelta(minutes=minutes))
    )
    db.session.expire_all()
    planner.replan("issue", db.session.get(EnterpriseIssue, issue_id))
    db.session.commit()


def sweep_reminders() -> list[str]:
    """What beat and the worker do each minute: claim the due reminders, send each one.

    ``tasks.reminders.sweep`` claims and publishes; here the claim is the same
    function and each send is the real task function run in this process (a
    broker round trip would add nothing but waiting). Returns each send's outcome.
    """
    from crm.reminders import delivery
    from tasks.reminders import send_reminder

    ids = delivery.claim_due()
    db.session.commit()
    outcomes = [send_reminder(reminder_id) for reminder_id in ids]
    db.session.expire_all()
    return outcomes


# -- projects and the monthly ranking --------------------------------------------------------


@dataclass
class ProjectDates:
    """Past days of one month: the journey reads the dashboard and ranking of that month."""

    earlier: date  # the first of the month: the project already landed
    signed: date  # the day the manager records as the signing (in the past)

    @property
    def year(self) -> int:
        return self.signed.year

    @property
    def month(self) -> int:
        return self.signed.month

    @classmethod
    def recent(cls, today: date | None = None) -> ProjectDates:
        signed = (today or local_today()) - timedelta(days=10)
        return cls(earlier=signed.replace(day=1), signed=signed)


def project_world(app, make_unit, make_user, make_enterprise, dates: ProjectDates) -> dict:
    """Two counties with targets; in 翠屏区 one project landed and one in negotiation.

    Before the journey the landing rate of the year's signed projects is 1/1; once
    the negotiation is signed it is 1/2, and the month has two signings, not one.
    """
    from crm.projects.services import create_project

    bureau = make_unit("宜宾市投资促进局", UnitKind.BUREAU)
    county = make_unit("翠屏区", UnitKind.COUNTY, parent=bureau)
    other = make_unit("南溪区", UnitKind.COUNTY, parent=bureau)
    manager = make_user(Role.MANAGER, [county], name="孙科长")
    firm = make_enterprise("宜宾长盈精密技术有限公司", units=[county])
    with app.test_request_context():
        landed = create_project(
            firm,
            actor=None,
            name="长盈精密结构件项目",
            county=county,
            stage=ProjectStage.LANDED,
            stage_on=dates.earlier,
            contract_amount_wan=Decimal("50000"),
        )
        negotiating = create_project(
            firm,
            actor=None,
            name="长盈新能源电池壳体项目",
            county=county,
            stage=ProjectStage.NEGOTIATION,
            stage_on=dates.earlier,
            contract_amount_wan=Decimal("120000"),
        )
        db.session.add_all(
            [
                Target(
                    year=dates.year,
                    unit_id=county.id,
                    new_projects=4,
                    contract_amount_wan=Decimal("400000"),
                ),
                Target(
                    year=dates.year,
                    unit_id=other.id,
                    new_projects=3,
                    contract_amount_wan=Decimal("300000"),
                ),
            ]
        )
        db.session.commit()
    return {
        "bureau": bureau,
        "county": county,
        "other": other,
        "manager": manager,
        "firm": firm,
        "landed": landed,
        "negotiating": negotiating,
    }


def workbook_rows(path) -> dict[str, list[tuple]]:
    """Every sheet of a downloaded workbook as rows of cell values."""
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return {
            sheet.title: [tuple(row) for row in sheet.iter_rows(values_only=True)]
            for sheet in workbook.worksheets
        }
    finally:
        workbook.close()


# -- spreadsheet imports ---------------------------------------------------------------------


def credit_code(n: int) -> str:
    return complete(f"91511500{n:09d}")


def broken_code(n: int) -> str:
    """A credit code whose check character is wrong (the import refuses the row)."""
    good = credit_code(n)
    wrong = "0" if good[-1] != "0" else "1"
    return good[:-1] + wrong


def enterprise_sheet(rows: int, *, bad_row: int, listed_every: int, unit: str) -> bytes:
    """An enterprise list as a county sends it, with one wrong credit code.

    Headers the import guesses right (credit code, name, region, unit) and one it
    guesses wrong: "上市公司代码" holds the stock codes of the few listed firms (every
    ``listed_every``-th row; blank for the others) but contains "上市公司", so it is
    read as "listed company (yes/no)" and those rows are refused until the column is
    ignored. Every enterprise belongs to ``unit`` (a unit's name). ``bad_row`` counts
    data rows from 1; its row in the sheet is one more (the header is row 1).
    """
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["统一社会信用代码", "企业名称", "总部所在地", "所属单位", "上市公司代码"])
    for n in range(1, rows + 1):
        code = broken_code(n) if n == bad_row else credit_code(n)
        stock = f"{300000 + n:06d}" if n % listed_every == 0 else None
        sheet.append([code, f"宜宾第{n}号精密制造有限公司", "宜宾", unit, stock])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


class PausableWorker:
    """A real Celery worker process (tests/worker.py) that the test can hold still.

    While paused (SIGSTOP) it takes no task, as when every worker is busy: the page
    shows the job queued, its progress bar at 0 %, for as long as the test looks.
    Resumed (SIGCONT), it runs the task as it would have.
    """

    def __init__(self, process):
        self.process = process

    def pause(self) -> None:
        self.process.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.process.send_signal(signal.SIGCONT)

    @contextmanager
    def paused(self):
        self.pause()
        try:
            yield
        finally:
            self.resume()

    def output(self) -> str:
        return self.process.output()
