"""The enterprise-issue workflow (诉求): accept, start, resolve, call back, close, reassign.

new → accepted → in_progress → resolved → callback → closed. A callback with
satisfaction ≤ 2 reopens the issue (back to in_progress); 3 and above lets it be
closed. Each step gets a deadline from the category's rule (IssueRule), counted
from when the previous step happened:

- new: respond (accept) within ``respond_minutes`` of the issue being logged;
- accepted: propose a solution (start) within ``solution_minutes`` of accepting;
- in_progress: resolve within ``close_minutes`` of starting (or of reopening);
- resolved, callback, closed: no deadline (the enterprise's callback is awaited).

Every step writes an IssueStep (with the deadline that was in force for it), an
``issue.step`` timeline event, and the next deadline on the issue. Plain verb
functions: they validate, change, record and flush; the caller commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm import labels, timeline
from crm.errors import ServiceError
from crm.extensions import db
from crm.issues.services import ISSUE_ENUMS, TEXT_LENGTH
from crm.models import (
    DEFAULT_CLOSE_MINUTES,
    DEFAULT_RESPOND_MINUTES,
    DEFAULT_SOLUTION_MINUTES,
    EnterpriseIssue,
    IssueCategory,
    IssueRule,
    IssueStatus,
    IssueStep,
    OrgUnit,
    User,
)
from crm.models.base import utcnow
from crm.records import check_version
from crm.reminders import planner
from crm.text import blank_to_none, excerpt

NOTE_LENGTH = 5000
UNSATISFIED_MAX = 2  # a callback at or below this reopens the issue
SATISFIED_MIN = 4  # counted as satisfied in the figures

# The moves the transition form offers: action → (from, to).
ACTIONS: dict[str, tuple[IssueStatus, IssueStatus]] = {
    "accept": (IssueStatus.NEW, IssueStatus.ACCEPTED),
    "start": (IssueStatus.ACCEPTED, IssueStatus.IN_PROGRESS),
    "resolve": (IssueStatus.IN_PROGRESS, IssueStatus.RESOLVED),
    "close": (IssueStatus.CALLBACK, IssueStatus.CLOSED),
}
ACTION_LABELS = {
    "accept": _l("Accept"),
    "start": _l("Start work (propose a solution)"),
    "resolve": _l("Mark resolved"),
    "close": _l("Close"),
}


class Rule:
    """A category's deadlines in minutes: its IssueRule row, or the defaults."""

    def __init__(self, respond: int, solution: int, close: int, row: IssueRule | None = None):
        self.respond_minutes = respond
        self.solution_minutes = solution
        self.close_minutes = close
        self.row = row

    def minutes_for(self, status: IssueStatus) -> int | None:
        """How long the step out of ``status`` may take (None: no deadline)."""
        return {
            IssueStatus.NEW: self.respond_minutes,
            IssueStatus.ACCEPTED: self.solution_minutes,
            IssueStatus.IN_PROGRESS: self.close_minutes,
        }.get(status)


def rule_for(category: IssueCategory | str) -> Rule:
    category = IssueCategory(category)
    row = db.session.execute(
        select(IssueRule).where(IssueRule.category == category)
    ).scalar_one_or_none()
    if row is None:
        return Rule(DEFAULT_RESPOND_MINUTES, DEFAULT_SOLUTION_MINUTES, DEFAULT_CLOSE_MINUTES)
    return Rule(row.respond_minutes, row.solution_minutes, row.close_minutes, row)


def all_rules() -> dict[IssueCategory, Rule]:
    rows = {row.category: row for row in db.session.execute(select(IssueRule)).scalars()}
    return {
        category: Rule(r.respond_minutes, r.solution_minutes, r.close_minutes, r)
        if (r := rows.get(category))
        else Rule(DEFAULT_RESPOND_MINUTES, DEFAULT_SOLUTION_MINUTES, DEFAULT_CLOSE_MINUTES)
        for category in IssueCategory
    }


def deadline_after(
    category: IssueCategory | str, status: IssueStatus, since: datetime
) -> datetime | None:
    """The deadline of the step out of ``status``, counted from ``since``."""
    minutes = rule_for(category).minutes_for(status)
    return since + timedelta(minutes=minutes) if minutes is not None else None


def allowed_actions(issue: EnterpriseIssue) -> list[str]:
    return [action for action, (start, _end) in ACTIONS.items() if issue.status == start]


def can_call_back(issue: EnterpriseIssue) -> bool:
    return issue.status == IssueStatus.RESOLVED


def possible_now(issue: EnterpriseIssue, action: str) -> bool:
    """Whether ``action`` (a step of ACTIONS, "callback" or "reassign") fits the issue's
    status: the same tests the verbs below make, for callers that answer before calling."""
    if action in ACTIONS:
        return issue.status == ACTIONS[action][0]
    if action == "callback":
        return can_call_back(issue)
    if action == "reassign":
        return issue.status != IssueStatus.CLOSED
    return False


def _payload(issue: EnterpriseIssue) -> dict:
    return {
        "title": issue.title,
        "issue_id": issue.id,
        "enum": {**ISSUE_ENUMS, "from": "IssueStatus", "to": "IssueStatus"},
    }


def _step(
    issue: EnterpriseIssue,
    to_status: IssueStatus,
    *,
    actor: User | None,
    note: str | None,
    satisfaction: int | None = None,
    now: datetime,
) -> IssueStep:
    """Move ``issue`` to ``to_status``: the step row, the event, the next deadline."""
    from_status = issue.status
    step = IssueStep(
        issue_id=issue.id,
        enterprise_id=issue.enterprise_id,
        from_status=from_status,
        to_status=to_status,
        at=now,
        due_at=issue.step_due_at,
        actor_id=actor.id if actor else None,
        note=note,
        satisfaction=satisfaction,
    )
    db.session.add(step)
    issue.status = to_status
    issue.step_due_at = deadline_after(issue.category, to_status, now)
    data = _payload(issue)
    data.update(
        {
            "from": from_status.value,
            "to": to_status.value,
            "text": excerpt(note, TEXT_LENGTH) or None,
            "satisfaction": satisfaction,
            "due_at": timeline.plain(step.due_at),
            "late": step.late,
            "next_due_at": timeline.plain(issue.step_due_at),
        }
    )
    timeline.record(
        issue.enterprise_id,
        "issue.step",
        actor=actor,
        subject_type="issue",
        subject_id=issue.id,
        data=data,
        occurred_at=now,
    )
    db.session.flush()
    planner.replan("issue", issue)
    return step


def _note(note: str | None, *, required_message=None, field: str = "note") -> str | None:
    note = blank_to_none(note)
    if note is None and required_message is not None:
        raise ServiceError(required_message, field)
    if note is not None and len(note) > NOTE_LENGTH:
        raise ServiceError(_l("Keep the note under 5000 characters."), field)
    return note


def _expect(issue: EnterpriseIssue, status: IssueStatus, field: str = "action") -> None:
    if issue.status != status:
        raise ServiceError(illegal_message(issue), field)


def illegal_message(issue: EnterpriseIssue):
    return _l(
        "This step is not possible now: the issue is “%(status)s”.",
        status=labels.enum_label(IssueStatus, issue.status.value),
    )


def accept(
    issue: EnterpriseIssue, *, actor: User | None, expected_version, note: str | None = None
) -> IssueStep:
    check_version(issue, expected_version, allow_missing=False)
    _expect(issue, IssueStatus.NEW)
    note = _note(note)
    now = utcnow()
    if issue.accepted_at is None:
        issue.accepted_at = now
    return _step(issue, IssueStatus.ACCEPTED, actor=actor, note=note, now=now)


def start(
    issue: EnterpriseIssue, *, actor: User | None, expected_version, note: str | None
) -> IssueStep:
    """In progress, with the proposed solution as the note."""
    check_version(issue, expected_version, allow_missing=False)
    _expect(issue, IssueStatus.ACCEPTED)
    note = _note(note, required_message=_l("Describe the proposed solution."))
    return _step(issue, IssueStatus.IN_PROGRESS, actor=actor, note=note, now=utcnow())


def resolve(
    issue: EnterpriseIssue, *, actor: User | None, expected_version, note: str | None
) -> IssueStep:
    check_version(issue, expected_version, allow_missing=False)
    _expect(issue, IssueStatus.IN_PROGRESS)
    note = _note(note, required_message=_l("Say how the issue was resolved."))
    now = utcnow()
    issue.resolved_at = now
    return _step(issue, IssueStatus.RESOLVED, actor=actor, note=note, now=now)


def callback(
    issue: EnterpriseIssue,
    *,
    actor: User | None,
    expected_version,
    satisfaction,
    comment: str | None = None,
) -> IssueStep:
    """The enterprise's verdict (回访): 1–5; 2 or less reopens the issue."""
    check_version(issue, expected_version, allow_missing=False)
    _expect(issue, IssueStatus.RESOLVED, "satisfaction")
    try:
        score = int(satisfaction)
    except (TypeError, ValueError):
        score = None
    if score is None or not 1 <= score <= 5:
        raise ServiceError(_l("Give the satisfaction from 1 to 5."), "satisfaction")
    comment = _note(comment, field="comment")
    now = utcnow()
    issue.satisfaction = score
    if score <= UNSATISFIED_MAX:
        issue.reopened_count = (issue.reopened_count or 0) + 1
        issue.resolved_at = None
        # An unsatisfied enterprise escalates at once, one level higher each time.
        planner.escalate_now(
            "issue", issue, planner.PLANS["issue"].unit(issue), reason="reopened", actor=actor
        )
        return _step(
            issue, IssueStatus.IN_PROGRESS, actor=actor, note=comment, satisfaction=score, now=now
        )
    return _step(
        issue, IssueStatus.CALLBACK, actor=actor, note=comment, satisfaction=score, now=now
    )


def close(
    issue: EnterpriseIssue, *, actor: User | None, expected_version, note: str | None = None
) -> IssueStep:
    """Only after a satisfied callback (status 'callback')."""
    check_version(issue, expected_version, allow_missing=False)
    _expect(issue, IssueStatus.CALLBACK)
    note = _note(note)
    now = utcnow()
    issue.closed_at = now
    return _step(issue, IssueStatus.CLOSED, actor=actor, note=note, now=now)


VERBS = {"accept": accept, "start": start, "resolve": resolve, "close": close}


def transition(
    issue: EnterpriseIssue, action: str, *, actor: User | None, expected_version, note=None
) -> IssueStep:
    verb = VERBS.get(action or "")
    if verb is None:
        raise ServiceError(_l("Choose a step."), "action")
    return verb(issue, actor=actor, expected_version=expected_version, note=note)


def reassign(
    issue: EnterpriseIssue,
    *,
    actor: User | None,
    expected_version,
    assignee: User | None,
    unit: OrgUnit | None,
    reason: str | None,
) -> IssueStep:
    """Hand the issue to another person and/or unit (转办); the deadline stays."""
    check_version(issue, expected_version, allow_missing=False)
    if issue.status == IssueStatus.CLOSED:
        raise ServiceError(_l("A closed issue cannot be reassigned."), "assignee")
    reason = _note(
        reason, required_message=_l("Give the reason for the reassignment."), field="reason"
    )
    if assignee == issue.assignee and unit == issue.unit:
        raise ServiceError(_l("Choose another person or unit."), "assignee")
    fields = ["assignee", "unit"]
    before = timeline.snapshot(issue, fields)
    issue.assignee = assignee
    issue.unit = unit
    after = timeline.snapshot(issue, fields)
    now = utcnow()
    step = IssueStep(
        issue_id=issue.id,
        enterprise_id=issue.enterprise_id,
        from_status=issue.status,
        to_status=issue.status,
        at=now,
        due_at=None,
        actor_id=actor.id if actor else None,
        note=reason,
    )
    db.session.add(step)
    data = _payload(issue)
    data["text"] = excerpt(reason, TEXT_LENGTH)
    timeline.record(
        issue.enterprise_id,
        "issue.reassigned",
        actor=actor,
        subject_type="issue",
        subject_id=issue.id,
        data={**data, "changes": timeline.changes_between(before, after)},
        occurred_at=now,
    )
    # The issue row changed: its version goes up, and a stale reassign form loses.
    db.session.flush()
    planner.replan("issue", issue)
    return step


def steps(issue: EnterpriseIssue) -> list[IssueStep]:
    return list(
        db.session.execute(
            select(IssueStep)
            .where(IssueStep.issue_id == issue.id)
            .order_by(IssueStep.at, IssueStep.id)
        ).scalars()
    )


def save_rule(
    category: IssueCategory | str,
    *,
    expected_version,
    respond_minutes,
    solution_minutes,
    close_minutes,
) -> IssueRule:
    """Create or change a category's rule; open issues keep the deadlines they have."""
    category = IssueCategory(category)
    values = {}
    for field, raw in (
        ("respond_minutes", respond_minutes),
        ("solution_minutes", solution_minutes),
        ("close_minutes", close_minutes),
    ):
        try:
            minutes = int(raw)
        except (TypeError, ValueError):
            minutes = None
        if minutes is None or not 0 < minutes <= 365 * 24 * 60:
            raise ServiceError(_l("Give a number of minutes from 1 to 525600."), field)
        values[field] = minutes
    row = db.session.execute(
        select(IssueRule).where(IssueRule.category == category)
    ).scalar_one_or_none()
    if row is None:
        row = IssueRule(category=category, **values)
        db.session.add(row)
    else:
        check_version(row, expected_version, allow_missing=False)
        for field, minutes in values.items():
            setattr(row, field, minutes)
    db.session.flush()
    return row
