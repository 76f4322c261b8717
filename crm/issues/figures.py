"""Figures of the issue workflow per responsible unit and period, as SQL aggregates.

For a period [start, end) (UTC instants) and each unit (``EnterpriseIssue.unit_id``,
NULL = no responsible unit), over live issues of live enterprises in the reader's
scope:

- accepted: issues whose ``accepted_at`` falls in the period;
- closed: issues whose ``closed_at`` falls in the period;
- closed on time: of those, the ones none of whose steps was taken after the
  deadline in force for it (``IssueStep.due_at``: respond, propose a solution,
  resolve — also across reopenings). Steps without a deadline (callback, close,
  reassignment) and issues older than the workflow count as on time;
- median hours to close: from logging (``created_at``) to ``closed_at``, over the
  issues closed in the period (window functions: SQLite ≥ 3.25 and PostgreSQL);
- satisfaction rate: callbacks in the period with satisfaction ≥ 4 / callbacks in
  the period (a callback of 3 counts as not satisfied, but does not reopen).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import ColumnElement, and_, case, exists, extract, func, select

from crm.extensions import db
from crm.issues.workflow import SATISFIED_MIN
from crm.models import Enterprise, EnterpriseIssue, IssueStep


@dataclass
class IssueFigures:
    unit_id: int | None
    accepted: int = 0
    closed: int = 0
    closed_on_time: int = 0
    median_hours: Decimal | None = None
    callbacks: int = 0
    satisfied: int = 0

    @property
    def on_time_rate(self) -> Decimal | None:
        return _rate(self.closed_on_time, self.closed)

    @property
    def satisfaction_rate(self) -> Decimal | None:
        return _rate(self.satisfied, self.callbacks)


def _rate(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _hours_to_close() -> ColumnElement:
    if db.session.get_bind().dialect.name == "sqlite":
        return (
            func.julianday(EnterpriseIssue.closed_at) - func.julianday(EnterpriseIssue.created_at)
        ) * 24.0
    return extract("epoch", EnterpriseIssue.closed_at - EnterpriseIssue.created_at) / 3600.0


def _issues(scope) -> list[ColumnElement[bool]]:
    return [scope, Enterprise.deleted_at.is_(None), EnterpriseIssue.deleted_at.is_(None)]


def _in(column, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def issue_figures(scope, start: datetime, end: datetime) -> dict[int | None, IssueFigures]:
    """Figures per unit id for the period; units without any activity are absent."""
    unit = EnterpriseIssue.unit_id
    late_step = exists().where(
        IssueStep.issue_id == EnterpriseIssue.id,
        IssueStep.due_at.is_not(None),
        IssueStep.at > IssueStep.due_at,
    )
    accepted = _in(EnterpriseIssue.accepted_at, start, end)
    closed = _in(EnterpriseIssue.closed_at, start, end)
    counts = db.session.execute(
        select(
            unit,
            func.count(case((accepted, 1))),
            func.count(case((closed, 1))),
            func.count(case((and_(closed, ~late_step), 1))),
        )
        .join(Enterprise, Enterprise.id == EnterpriseIssue.enterprise_id)
        .where(*_issues(scope), accepted | closed)
        .group_by(unit)
    ).all()
    result: dict[int | None, IssueFigures] = {}
    for unit_id, n_accepted, n_closed, n_on_time in counts:
        result[unit_id] = IssueFigures(unit_id, n_accepted, n_closed, n_on_time)

    hours = _hours_to_close()
    ranked = (
        select(
            unit.label("unit_id"),
            hours.label("hours"),
            func.row_number().over(partition_by=unit, order_by=hours).label("rn"),
            func.count().over(partition_by=unit).label("n"),
        )
        .join(Enterprise, Enterprise.id == EnterpriseIssue.enterprise_id)
        .where(*_issues(scope), closed)
        .subquery()
    )
    medians = db.session.execute(
        select(ranked.c.unit_id, func.avg(ranked.c.hours))
        .where(ranked.c.rn.between((ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2))
        .group_by(ranked.c.unit_id)
    ).all()
    for unit_id, median in medians:
        if median is not None and unit_id in result:
            result[unit_id].median_hours = Decimal(str(median)).quantize(
                Decimal("0.1"), ROUND_HALF_UP
            )

    callbacks = db.session.execute(
        select(
            unit,
            func.count(IssueStep.id),
            func.count(case((IssueStep.satisfaction >= SATISFIED_MIN, 1))),
        )
        .join(EnterpriseIssue, EnterpriseIssue.id == IssueStep.issue_id)
        .join(Enterprise, Enterprise.id == EnterpriseIssue.enterprise_id)
        .where(*_issues(scope), IssueStep.satisfaction.is_not(None), _in(IssueStep.at, start, end))
        .group_by(unit)
    ).all()
    for unit_id, n_callbacks, n_satisfied in callbacks:
        figures = result.setdefault(unit_id, IssueFigures(unit_id))
        figures.callbacks = n_callbacks
        figures.satisfied = n_satisfied
    return result


def total(figures: dict[int | None, IssueFigures]) -> IssueFigures:
    """The counts summed over units (the median is not additive: left empty)."""
    whole = IssueFigures(None)
    for row in figures.values():
        whole.accepted += row.accepted
        whole.closed += row.closed
        whole.closed_on_time += row.closed_on_time
        whole.callbacks += row.callbacks
        whole.satisfied += row.satisfied
    return whole
