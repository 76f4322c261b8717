"""The monthly ranking (月通报): the tables, publishing (freezing) and the corrections since.

A month's report ranks the counties and the task forces by target completion
(``crm.projects.figures.ranking``). Until it is published the figures are live.
Publishing writes one ``MonthlyReport`` and one ``MonthlyReportRow`` per unit
holding every figure as exact text; those rows are never changed afterwards.
When data is corrected later (a back-dated stage change, a funds correction, a
target changed), the month shows the published figures and, beside each one that
differs now, the live value: DOMAIN.md, "a ranking once published does not change
when data is corrected later, but the correction is visible".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import format_date, get_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm import labels
from crm.clock import local_today
from crm.errors import ServiceError
from crm.extensions import db
from crm.formatting import date_text, datetime_text, percent
from crm.models import MonthlyReport, MonthlyReportRow, UnitKind, User
from crm.projects import figures as fig
from crm.projects.figures import RANKED_KINDS, Figures, Period, RankRow

# A published row of a unit without any target has no rank; the column is NOT NULL,
# so "unranked" is stored as 0 (real ranks start at 1) and read back as None.
UNRANKED = 0

ALREADY_PUBLISHED = _l(
    "The report for this month has already been published. A published report is frozen: "
    "later corrections are shown beside its figures."
)


class AlreadyPublishedError(ServiceError):
    """The month has a published report already (found, or lost the race to insert it)."""


# -- the columns ----------------------------------------------------------------------
@dataclass(frozen=True)
class Metric:
    """One figure column: ``name`` is a Figures attribute (or "rank", "ahead")."""

    name: str
    label: object  # lazy string: the full header (spreadsheet, corrections)
    kind: str  # count | amount | rate | points | rank
    short: object | None = None  # the sub-header under a group on the web page
    group: object | None = None


PROJECTS = _l("New signed projects")
AMOUNT = _l("Contract amount (万元)")
FUNDS = _l("Out-of-province funds in place (万元)")
ACTUAL, TARGET, COMPLETION = _l("Actual"), _l("Target"), _l("Completion")

METRICS: tuple[Metric, ...] = (
    Metric("signed", PROJECTS, "count", ACTUAL, PROJECTS),
    Metric("target_projects", _l("Target: new signed projects"), "count", TARGET, PROJECTS),
    Metric(
        "projects_completion", _l("Completion: new signed projects"), "rate", COMPLETION, PROJECTS
    ),
    Metric("signed_amount_wan", AMOUNT, "amount", ACTUAL, AMOUNT),
    Metric("target_amount_wan", _l("Target: contract amount (万元)"), "amount", TARGET, AMOUNT),
    Metric("amount_completion", _l("Completion: contract amount"), "rate", COMPLETION, AMOUNT),
    Metric("out_of_province_funds_wan", FUNDS, "amount", ACTUAL, FUNDS),
    Metric(
        "target_out_of_province_funds_wan",
        _l("Target: out-of-province funds (万元)"),
        "amount",
        TARGET,
        FUNDS,
    ),
    Metric("funds_completion", _l("Completion: out-of-province funds"), "rate", COMPLETION, FUNDS),
    Metric("score", _l("Overall completion"), "rate"),
    Metric("schedule", _l("Pro-rata schedule (序时进度)"), "rate"),
    Metric("ahead", _l("Ahead (+) or behind (−) schedule"), "points"),
    Metric("landing_rate", _l("Landing rate"), "rate"),
    Metric("start_rate", _l("Start rate"), "rate"),
    Metric("completion_rate", _l("Completion rate (建成率)"), "rate"),
    Metric("funds_rate", _l("Funds-in-place rate"), "rate"),
    Metric("performance_rate", _l("Performance rate (履约率)"), "rate"),
)
RANK = Metric("rank", _l("Rank"), "rank")
METRIC_BY_NAME = {metric.name: metric for metric in (RANK, *METRICS)}

# What a sheet or table of each kind is called.
KIND_TITLE = {
    UnitKind.COUNTY: _l("Counties / districts"),
    UnitKind.TASK_FORCE: _l("Industry task forces"),
}


def metric_value(figures: Figures, name: str):
    if name == "ahead":
        return None if figures.score is None else figures.score - figures.schedule
    return getattr(figures, name)


# -- display ------------------------------------------------------------------------------
def amount_text(value: Decimal) -> str:
    """万元 with thousands separators, two to four decimals (as the spreadsheet's '#,##0.00##')."""
    text = f"{Decimal(value).quantize(Decimal('0.0001')):,f}"
    whole, _, decimals = text.partition(".")
    decimals = decimals.rstrip("0").ljust(2, "0")
    return f"{whole}.{decimals}"


def cell_text(kind: str, value, places: int = 1) -> str:
    """A figure as shown on the page; no value (no target, nothing to divide by) is "—"."""
    if value is None:
        return "—"
    if kind in ("count", "rank"):
        return str(value)
    if kind == "amount":
        return amount_text(value)
    if kind == "points":
        sign = "+" if value > 0 else ""
        return sign + percent(value, places)
    return percent(value, places)


def change_texts(kind: str, old, new) -> tuple[str, str]:
    """Old and new as text, with more decimals when the usual ones would read the same."""
    places = 1
    while True:
        before, after = cell_text(kind, old, places), cell_text(kind, new, places)
        if before != after or places >= 6 or kind not in ("rate", "points"):
            return before, after
        places += 1


def month_title(period: Period) -> str:
    """2026年10月 / October 2026."""
    locale = get_locale()
    if locale is not None and locale.language == "zh":
        return f"{period.year}年{period.month}月"
    return format_date(period.month_start, "MMMM y")


# -- reading --------------------------------------------------------------------------------
def open_period(year: int, month: int) -> Period | None:
    """The month asked for, if it exists and has begun (``is_open``); else None."""
    try:
        period = Period(year, month)
    except ValueError:
        return None
    return period if is_open(period) else None


def is_open(period: Period, today: date | None = None) -> bool:
    """A month that has begun: its report can be read and published.

    The current month is allowed, not only months that have ended: bureaus close the
    月通报 in the last days of the month (the figures are to date, 序时进度 is the whole
    month's), and waiting for the 1st would send it late. Whatever is recorded after
    publishing shows as a correction. A month that has not begun has no figures.
    """
    today = today or local_today()
    return period.month_start <= today.replace(day=1)


def published_report(period: Period) -> MonthlyReport | None:
    return db.session.execute(
        select(MonthlyReport).where(
            MonthlyReport.year == period.year, MonthlyReport.month == period.month
        )
    ).scalar_one_or_none()


def reports_of_year(year: int) -> dict[int, MonthlyReport]:
    rows = db.session.execute(select(MonthlyReport).where(MonthlyReport.year == year)).scalars()
    return {report.month: report for report in rows}


def report_years() -> list[int]:
    rows = db.session.execute(select(MonthlyReport.year).distinct()).scalars()
    return sorted(rows)


@dataclass
class Change:
    name: str
    old: object
    new: object

    @property
    def metric(self) -> Metric:
        return METRIC_BY_NAME[self.name]

    @property
    def texts(self) -> tuple[str, str]:
        return change_texts(self.metric.kind, self.old, self.new)


@dataclass
class Line:
    """One unit's line of a table: the figures shown (frozen if published) and what differs now."""

    unit_id: int | None
    unit_name: str
    rank: int | None
    figures: Figures
    changes: dict[str, Change] = field(default_factory=dict)
    gone: bool = False  # published, but the unit is no longer ranked (deactivated, deleted)

    def value(self, name: str):
        return self.rank if name == "rank" else metric_value(self.figures, name)


@dataclass
class Table:
    kind: UnitKind
    lines: list[Line]
    added: list[RankRow] = field(default_factory=list)  # ranked now, not in the published report

    @property
    def title(self):
        return KIND_TITLE[self.kind]

    @property
    def unit_label(self) -> str:
        return labels.label(self.kind)

    @property
    def change_count(self) -> int:
        return sum(len(line.changes) for line in self.lines)


@dataclass
class MonthReport:
    period: Period
    report: MonthlyReport | None
    tables: list[Table]

    @property
    def published(self) -> bool:
        return self.report is not None

    @property
    def change_count(self) -> int:
        return sum(table.change_count for table in self.tables)

    @property
    def changed_units(self) -> int:
        return sum(1 for table in self.tables for line in table.lines if line.changes)


def _differences(frozen: Line, live: RankRow) -> dict[str, Change]:
    changes = {}
    if frozen.rank != live.rank:
        changes["rank"] = Change("rank", frozen.rank, live.rank)
    for metric in METRICS:
        old = metric_value(frozen.figures, metric.name)
        new = metric_value(live.figures, metric.name)
        if old != new:
            changes[metric.name] = Change(metric.name, old, new)
    return changes


def _frozen_lines(report: MonthlyReport, kind: UnitKind) -> list[Line]:
    rows = sorted(
        (row for row in report.rows if row.unit_kind == kind.value),
        # Rows were written in ranking order, so the id keeps the order of ties.
        key=lambda row: (row.rank == UNRANKED, row.rank, row.id),
    )
    return [
        Line(
            unit_id=row.unit_id,
            unit_name=row.unit_name,
            rank=row.rank or None,
            figures=Figures.from_dict(row.figures),
        )
        for row in rows
    ]


def month_report(period: Period) -> MonthReport:
    """The month's tables: live, or the published figures with every difference since."""
    report = published_report(period)
    tables = []
    live_rankings = fig.rankings(period, RANKED_KINDS)
    for kind in RANKED_KINDS:
        live = live_rankings[kind]
        if report is None:
            lines = [Line(row.unit_id, row.unit_name, row.rank, row.figures) for row in live]
            tables.append(Table(kind, lines))
            continue
        lines = _frozen_lines(report, kind)
        live_by_unit = {row.unit_id: row for row in live}
        for line in lines:
            now = live_by_unit.pop(line.unit_id, None) if line.unit_id is not None else None
            if now is None:
                line.gone = True
            else:
                line.changes = _differences(line, now)
        tables.append(Table(kind, lines, added=list(live_by_unit.values())))
    return MonthReport(period, report, tables)


# -- publishing -------------------------------------------------------------------------------
def publish_report(period: Period, *, actor: User | None, note: str | None = None) -> MonthlyReport:
    """Freeze the month's ranking as it stands now; flushes, the caller commits.

    Schedules its mail to every active manager and leader in the same transaction
    (crm.reminders.report_mail): a rolled-back publish mails nothing.
    """
    if not is_open(period):
        raise ServiceError(_l("A month that has not begun cannot be published."))
    if published_report(period) is not None:
        raise AlreadyPublishedError(ALREADY_PUBLISHED)
    note = (note or "").strip() or None
    report = MonthlyReport(
        year=period.year,
        month=period.month,
        published_by_id=actor.id if actor else None,
        note=note,
    )
    for kind, rows in fig.rankings(period, RANKED_KINDS).items():
        for row in rows:
            report.rows.append(
                MonthlyReportRow(
                    unit_kind=kind.value,
                    unit_id=row.unit_id,
                    unit_name=row.unit_name,
                    rank=row.rank if row.rank is not None else UNRANKED,
                    figures=row.figures.as_dict(),
                )
            )
    db.session.add(report)
    try:
        db.session.flush()
    except IntegrityError:
        # Someone published the same month between our check and our insert: the
        # unique (year, month) constraint decides; the caller rolls back.
        raise AlreadyPublishedError(ALREADY_PUBLISHED) from None
    from crm.reminders import report_mail  # the mails go out with the publish, or not at all

    report_mail.schedule_report(report)
    return report


def note_line(month: MonthReport, *, for_file: bool = False) -> str:
    """The line under the title: who published when, or that the figures are live.

    The spreadsheet also says how many figures were corrected since (the page
    shows them one by one).
    """
    report = month.report
    if report is None:
        return gettext("Not yet published — live figures as of %(date)s.", date=_today_text())
    name = report.published_by.name if report.published_by else gettext("unknown")
    text = gettext(
        "Published %(when)s by %(name)s.", when=datetime_text(report.published_at), name=name
    )
    if for_file and month.change_count:
        text += " " + gettext(
            "%(count)s figures have been corrected since publication: see the last sheet.",
            count=month.change_count,
        )
    if report.note:
        text += " " + report.note
    return text


def _today_text() -> str:
    return date_text(local_today())
