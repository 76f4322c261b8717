"""Enterprise issues (诉求): the record. The workflow (accept, resolve, call back) is in workflow.py.

Plain verb functions: they validate, change, record the timeline event and
flush. The caller owns the transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, nulls_last, select
from sqlalchemy.orm import joinedload

from crm import timeline
from crm.clock import local_today, local_zone, next_monday
from crm.errors import ServiceError
from crm.extensions import db
from crm.models import (
    Enterprise,
    EnterpriseIssue,
    Escalation,
    IssueCategory,
    IssueStatus,
    OrgUnit,
    User,
    Visit,
)
from crm.models.base import utcnow
from crm.records import check_version, soft_delete
from crm.reminders import planner
from crm.text import blank_to_none, excerpt
from crm.visits.services import check_due_date

ISSUE_FIELDS = ["category", "title", "description", "due_date", "assignee", "unit"]
ISSUE_ENUMS = {"category": "IssueCategory", "status": "IssueStatus"}
TEXT_LENGTH = 500

# Statuses in which the enterprise is still waiting for the government.
OPEN_STATUSES = (IssueStatus.NEW, IssueStatus.ACCEPTED, IssueStatus.IN_PROGRESS)


def _payload(issue: EnterpriseIssue) -> dict:
    return {"title": issue.title, "issue_id": issue.id, "enum": dict(ISSUE_ENUMS)}


def end_of_week() -> datetime:
    """Next Monday 00:00 local time, in UTC: the end of "this week"."""
    return datetime.combine(next_monday(), time(0, 0), tzinfo=local_zone()).astimezone(UTC)


def step_overdue(issue: EnterpriseIssue, now: datetime | None = None) -> bool:
    """The current step's deadline (from the category's rule) has passed."""
    return issue.step_due_at is not None and issue.step_due_at < (now or utcnow())


def is_overdue(issue: EnterpriseIssue, today: date | None = None) -> bool:
    return (
        issue.status in OPEN_STATUSES
        and issue.due_date is not None
        and issue.due_date < (today or local_today())
    )


def create_issue(
    enterprise: Enterprise,
    *,
    actor: User | None,
    category: IssueCategory | str,
    title: str,
    description: str | None = None,
    due_date: date | None = None,
    assignee: User | None = None,
    unit: OrgUnit | None = None,
    visit: Visit | None = None,
) -> EnterpriseIssue:
    title = blank_to_none(title)
    if not title:
        raise ServiceError(_l("Give the issue a title."), "title")
    check_due_date(due_date)
    if visit is not None and visit.enterprise_id != enterprise.id:
        raise ServiceError(_l("The visit belongs to another enterprise."), "visit")
    from crm.issues.workflow import deadline_after

    now = utcnow()
    issue = EnterpriseIssue(
        created_at=now,
        # Responding (accepting) is due from the moment the issue is logged.
        step_due_at=deadline_after(category, IssueStatus.NEW, now),
        enterprise_id=enterprise.id,
        visit_id=visit.id if visit else None,
        category=IssueCategory(category),
        title=title,
        description=blank_to_none(description),
        due_date=due_date,
        status=IssueStatus.NEW,
        assignee=assignee,
        unit=unit,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(issue)
    db.session.flush()
    data = _payload(issue)
    data.update(timeline.snapshot(issue, ["category", "status", "due_date", "assignee", "unit"]))
    data.update(text=excerpt(issue.description, TEXT_LENGTH) or None, visit_id=issue.visit_id)
    timeline.record(
        enterprise.id,
        "issue.created",
        actor=actor,
        subject_type="issue",
        subject_id=issue.id,
        data=data,
    )
    planner.replan("issue", issue)
    return issue


def update_issue(
    issue: EnterpriseIssue,
    *,
    actor: User | None,
    expected_version,
    category: IssueCategory | str,
    title: str,
    description: str | None = None,
    due_date: date | None = None,
    assignee: User | None = None,
    unit: OrgUnit | None = None,
) -> EnterpriseIssue:
    check_version(issue, expected_version, allow_missing=False)
    title = blank_to_none(title)
    if not title:
        raise ServiceError(_l("Give the issue a title."), "title")
    # An unchanged, already passed due date must not block fixing a typo.
    if due_date != issue.due_date:
        check_due_date(due_date)
    before = timeline.snapshot(issue, ISSUE_FIELDS)
    issue.category = IssueCategory(category)
    issue.title = title
    issue.description = blank_to_none(description)
    issue.due_date = due_date
    issue.assignee = assignee
    issue.unit = unit
    after = timeline.snapshot(issue, ISSUE_FIELDS)
    if before != after:
        timeline.record_change(
            issue.enterprise_id,
            "issue.updated",
            actor=actor,
            subject_type="issue",
            subject_id=issue.id,
            before=before,
            after=after,
            data=_payload(issue),
        )
    db.session.flush()
    planner.replan("issue", issue)
    return issue


def delete_issue(issue: EnterpriseIssue, *, actor: User | None) -> None:
    soft_delete(issue, "issue", actor=actor, data=_payload(issue))
    planner.replan("issue", issue)


def issues_query(
    scope,
    *,
    status: str | None = None,
    category: str | None = None,
    overdue_only: bool = False,
    assignee_id: int | None = None,
    unit_id: int | None = None,
    step_due: str | None = None,
) -> Select:
    """Live issues of live enterprises inside ``scope`` (access.enterprise_scope()).

    ``status`` is an IssueStatus value or "open" (every status still waiting);
    ``step_due`` is "overdue" (the current step's deadline has passed), "week"
    (it falls between now and the end of this local week, Sunday midnight) or
    "escalated" (raised to a manager at least once: an Escalation row);
    ``unit_id`` keeps the issues handled by that unit or any unit below it.
    """
    stmt = (
        select(EnterpriseIssue)
        .join(Enterprise, Enterprise.id == EnterpriseIssue.enterprise_id)
        .options(
            joinedload(EnterpriseIssue.enterprise),
            joinedload(EnterpriseIssue.assignee),
            joinedload(EnterpriseIssue.unit),
        )
        .where(scope, Enterprise.deleted_at.is_(None), EnterpriseIssue.deleted_at.is_(None))
    )
    if status == "open":
        stmt = stmt.where(EnterpriseIssue.status.in_(OPEN_STATUSES))
    elif status:
        stmt = stmt.where(EnterpriseIssue.status == IssueStatus(status))
    if category:
        stmt = stmt.where(EnterpriseIssue.category == IssueCategory(category))
    if overdue_only:
        stmt = stmt.where(
            EnterpriseIssue.status.in_(OPEN_STATUSES), EnterpriseIssue.due_date < local_today()
        )
    if assignee_id is not None:
        stmt = stmt.where(EnterpriseIssue.assignee_id == assignee_id)
    if unit_id is not None:
        below = select(OrgUnit.id).where(
            OrgUnit.path.startswith(
                select(OrgUnit.path).where(OrgUnit.id == unit_id).scalar_subquery()
            )
        )
        stmt = stmt.where(EnterpriseIssue.unit_id.in_(below))
    if step_due == "overdue":
        stmt = stmt.where(EnterpriseIssue.step_due_at < utcnow())
    elif step_due == "week":
        stmt = stmt.where(
            EnterpriseIssue.step_due_at >= utcnow(), EnterpriseIssue.step_due_at < end_of_week()
        )
    elif step_due == "escalated":
        stmt = stmt.where(escalated_condition())
    return stmt.order_by(nulls_last(EnterpriseIssue.due_date.asc()), EnterpriseIssue.id)


def escalated_condition():
    return planner.escalated_condition("issue", EnterpriseIssue.id)


def escalated_ids(issue_ids) -> set[int]:
    return planner.escalated_ids("issue", issue_ids)


def escalations(issue: EnterpriseIssue) -> list[Escalation]:
    """The issue's escalations, lowest level first (at most one per level)."""
    return planner.escalations("issue", issue.id)
