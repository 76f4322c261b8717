"""The reminder plans of follow-ups, enterprise issues and supervision items.

Each plan answers "which reminders does this item want, as it stands?" (see
crm.reminders.planner). Who is responsible:

- a follow-up: its owner; escalations go up from the owner's unit;
- an issue: its assignee (the responsible unit's managers while nobody is
  assigned); escalations go up from the responsible unit;
- a supervision item: its owner (the unit's managers when it has none);
  escalations go up from its responsible unit.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm import labels
from crm.extensions import db
from crm.issues.services import OPEN_STATUSES
from crm.models import (
    EnterpriseIssue,
    FollowUp,
    FollowUpStatus,
    IssueStep,
    OrgUnit,
    SupervisionItem,
    SupervisionStatus,
    User,
)
from crm.reminders.planner import (
    Described,
    deadline_rows,
    escalation_rows,
    ladder,
    morning_of,
    register,
    spent_escalation_rows,
)

DAY = timedelta(days=1)


def home_unit(user: User | None, fallback: list[OrgUnit]) -> OrgUnit | None:
    """The unit a person answers to: their deepest unit, else the item's first unit."""
    units = list(user.units) if user is not None else []
    if not units:
        units = list(fallback)
    return max(units, key=lambda unit: (unit.depth, -unit.id)) if units else None


def _live(item) -> bool:
    return item.deleted_at is None and item.enterprise.deleted_at is None


class FollowUpPlan:
    subject_type = "follow_up"

    def load(self, subject_id: int) -> FollowUp | None:
        # Every send asks its follow-up; the enterprise (is it live?) comes along.
        return db.session.get(FollowUp, subject_id, options=[joinedload(FollowUp.enterprise)])

    def wanted(self, follow_up: FollowUp):
        if follow_up.status != FollowUpStatus.OPEN or not _live(follow_up):
            return []
        due = morning_of(follow_up.due_date)
        owners = [follow_up.owner] if follow_up.owner is not None else []
        return deadline_rows(
            self.subject_type, follow_up.id, owners, due, follow_up.created_at
        ) + escalation_rows(
            self.subject_type,
            follow_up.id,
            due,
            DAY,
            lambda: home_unit(follow_up.owner, follow_up.enterprise.units),
            skip_user_ids=[o.id for o in owners],
        )

    def describe(self, follow_up: FollowUp) -> Described:
        return Described(
            what=_l("Follow-up"),
            enterprise_id=follow_up.enterprise_id,
            title=follow_up.title,
            enterprise_name=follow_up.enterprise.name,
            endpoint="enterprises.file",
            args={"enterprise_id": follow_up.enterprise_id, "_anchor": "follow-ups"},
        )


class IssuePlan:
    subject_type = "issue"

    def load(self, subject_id: int) -> EnterpriseIssue | None:
        return db.session.get(EnterpriseIssue, subject_id)

    def unit(self, issue: EnterpriseIssue) -> OrgUnit | None:
        return issue.unit or home_unit(issue.assignee, issue.enterprise.units)

    def wanted(self, issue: EnterpriseIssue):
        if not _live(issue) or issue.status not in OPEN_STATUSES:
            return []
        rows = spent_escalation_rows(self.subject_type, issue.id, "reopened")
        due = issue.step_due_at
        if due is None:
            return rows
        unit = self.unit(issue)
        if issue.assignee is not None:
            owners = [issue.assignee]
        else:  # nobody assigned yet: the responsible unit's managers must see it taken on
            owners = next(iter(managers for _unit, managers in ladder(unit)), [])
        started = (
            db.session.execute(
                select(func.max(IssueStep.at)).where(
                    IssueStep.issue_id == issue.id, IssueStep.from_status != IssueStep.to_status
                )
            ).scalar()
            or issue.created_at
        )
        # A one-hour step escalates hour by hour, a seven-day one day by day.
        interval = min(DAY, max(due - started, timedelta(minutes=15)))
        rows += deadline_rows(self.subject_type, issue.id, owners, due, started)
        rows += escalation_rows(
            self.subject_type, issue.id, due, interval, unit, skip_user_ids=[o.id for o in owners]
        )
        return rows

    def describe(self, issue: EnterpriseIssue) -> Described:
        return Described(
            what=_l("Enterprise issue"),
            enterprise_id=issue.enterprise_id,
            title=issue.title,
            enterprise_name=issue.enterprise.name,
            endpoint="issues.detail",
            args={"issue_id": issue.id},
            dated=False,
            lines=[
                (_l("Category"), labels.label(issue.category)),
                (_l("Status"), labels.label(issue.status)),
            ],
        )


class SupervisionPlan:
    subject_type = "supervision"

    def load(self, subject_id: int) -> SupervisionItem | None:
        return db.session.get(SupervisionItem, subject_id)

    def wanted(self, item: SupervisionItem):
        if item.status != SupervisionStatus.OPEN or not _live(item):
            return []
        due = morning_of(item.due_date)
        if item.owner is not None:
            owners = [item.owner]
        else:
            owners = next(iter(managers for _unit, managers in ladder(item.unit)), [])
        return deadline_rows(
            self.subject_type, item.id, owners, due, item.created_at
        ) + escalation_rows(
            self.subject_type, item.id, due, DAY, item.unit, skip_user_ids=[o.id for o in owners]
        )

    def describe(self, item: SupervisionItem) -> Described:
        lines = [(_l("Responsible unit"), item.unit.name)]
        if item.target_stage is not None:
            lines.append((_l("Stage to reach"), labels.label(item.target_stage)))
        return Described(
            what=_l("Supervision item"),
            enterprise_id=item.enterprise_id,
            title=item.title,
            enterprise_name=item.enterprise.name,
            endpoint="supervision.detail",
            args={"item_id": item.id},
            lines=lines,
        )


register(FollowUpPlan())
register(IssuePlan())
register(SupervisionPlan())
from crm.reminders import project_plans  # noqa: E402, F401 - registers the project plans
