"""The reminder plans of investment projects: stalled in a stage, funds in place not reported.

Who is responsible for a project (a project has no owner of its own):

- the responsible staff member of its enterprise (一企一档: every enterprise has
  one), when there is one and they are active; else the managers of the
  project's responsible unit, the nearest unit up that has managers;
- the responsible unit is the project's county, else its task force, else its
  park, else its outbound office (the unit whose figures the project counts in);
- escalations go up from that unit (crm.reminders.planner.ladder), skipping the
  people already told on the day.

Two subject types (the subject id is the project's id):

- ``project_stalled``: a project longer without progress than its stage allows
  (crm.projects.figures.stalled_condition: the county's threshold, else the
  city's). The occasion is the first morning the dashboard counts it stalled,
  the day after ``last_progress_on`` + threshold; the responsible people are
  told then, and one level up each further threshold of days.
- ``project_funds``: a project under construction (landed or started) since
  before this month, without any funds entry for last month by day
  REMINDER_FUNDS_DAY (09:00 local); one level up on REMINDER_FUNDS_ESCALATION_DAY,
  the next level as many days later.

``plan_periodic`` (beat, via tasks.reminders.plan_periodic) finds the projects
that need their rows planned or replanned with indexed queries only; services
that change projects do not call the planner for these types, so progress or a
funds entry is noticed there (and at send time, by ``planner.match``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select

from crm import labels
from crm.clock import local_today
from crm.extensions import db
from crm.formatting import date_text
from crm.models import (
    Enterprise,
    FundsEntry,
    OrgUnit,
    Project,
    ProjectStage,
    Reminder,
    ReminderStatus,
    User,
)
from crm.projects import figures
from crm.reminders import planner
from crm.reminders.planner import (
    Described,
    deadline_rows,
    escalation_rows,
    ladder,
    morning_of,
    register,
)

STALLED = "project_stalled"
FUNDS = "project_funds"
# Stages in which a project spends money on site and reports funds in place monthly.
UNDER_CONSTRUCTION = (ProjectStage.LANDED, ProjectStage.STARTED)
WAITING = (ReminderStatus.PENDING, ReminderStatus.HELD)
CHUNK = 500


def responsible_unit(project: Project) -> OrgUnit | None:
    return project.county or project.task_force or project.park or project.outbound_office


def responsible_people(project: Project, unit: OrgUnit | None) -> list[User]:
    person = project.enterprise.responsible
    if person is not None and person.active:
        return [person]
    return next(iter(managers for _unit, managers in ladder(unit)), [])


def _live(project: Project) -> bool:
    return project.deleted_at is None and project.enterprise.deleted_at is None


def stall_days(stage, county_id, thresholds=None) -> int | None:
    """Days without progress after which a project in ``stage`` is stalled (None: never)."""
    city, by_unit = thresholds or figures.stall_thresholds()
    own = by_unit.get(stage, {}).get(county_id) if county_id is not None else None
    return own if own is not None else city.get(stage)


def stalled_on(stage, county_id, last_progress_on: date, thresholds=None) -> date | None:
    """The first day figures.stalled_condition counts the project stalled."""
    days = stall_days(stage, county_id, thresholds)
    if days is None:
        return None
    return last_progress_on + timedelta(days=days + 1)


def _rows(subject_type, project, due, interval):
    unit = responsible_unit(project)
    owners = responsible_people(project, unit)
    reason = "stalled" if subject_type == "project_stalled" else "funds"
    return deadline_rows(subject_type, project.id, owners, due, due) + escalation_rows(
        subject_type,
        project.id,
        due,
        interval,
        unit,
        skip_user_ids=[o.id for o in owners],
        reason=reason,
    )


class ProjectStalledPlan:
    subject_type = STALLED

    def load(self, subject_id: int) -> Project | None:
        return db.session.get(Project, subject_id)

    def wanted(self, project: Project):
        if not _live(project):
            return []
        days = stall_days(project.stage, project.county_id)
        if days is None:
            return []
        due = morning_of(project.last_progress_on + timedelta(days=days + 1))
        # "before" would fall on a day the project is not yet stalled: only on due and up.
        return [
            want
            for want in _rows(self.subject_type, project, due, timedelta(days=days))
            if not want.kind.endswith(".before")
        ]

    def describe(self, project: Project) -> Described:
        return Described(
            what=_l("Stalled project"),
            enterprise_id=project.enterprise_id,
            title=project.name,
            enterprise_name=project.enterprise.name,
            endpoint="projects.detail",
            args={"project_id": project.id},
            lines=[
                (_l("Stage"), labels.label(project.stage)),
                (_l("Last progress"), date_text(project.last_progress_on)),
            ],
        )


def funds_month(today: date | None = None) -> tuple[date, date]:
    """(the month whose funds are due, the first day of this month), for today (local)."""
    this_month = (today or local_today()).replace(day=1)
    return (this_month - timedelta(days=1)).replace(day=1), this_month


def funds_days() -> tuple[int, int]:
    config = current_app.config
    return config.get("REMINDER_FUNDS_DAY", 5), config.get("REMINDER_FUNDS_ESCALATION_DAY", 10)


def missing_funds_conditions(month: date, this_month: date) -> list:
    """Conditions on Project: under construction since before this month, no entry for ``month``."""
    return [
        Project.deleted_at.is_(None),
        Project.stage.in_(UNDER_CONSTRUCTION),
        func.coalesce(Project.landed_on, Project.started_on) < this_month,
        ~exists().where(FundsEntry.project_id == Project.id, FundsEntry.month == month),
    ]


class ProjectFundsPlan:
    """The month is the one before today's (local): a row planned in one month and
    sent in the next no longer matches and is cancelled."""

    subject_type = FUNDS

    def load(self, subject_id: int) -> Project | None:
        return db.session.get(Project, subject_id)

    def wanted(self, project: Project):
        if not _live(project) or project.stage not in UNDER_CONSTRUCTION:
            return []
        month, this_month = funds_month()
        began = project.landed_on or project.started_on
        if began is None or began >= this_month:
            return []
        reported = db.session.execute(
            select(exists().where(FundsEntry.project_id == project.id, FundsEntry.month == month))
        ).scalar()
        if reported:
            return []
        due_day, escalation_day = funds_days()
        due = morning_of(this_month.replace(day=due_day))
        interval = timedelta(days=max(escalation_day - due_day, 1))
        return [
            want
            for want in _rows(self.subject_type, project, due, interval)
            if not want.kind.endswith(".before")
        ]

    def describe(self, project: Project) -> Described:
        month, _this_month = funds_month()
        return Described(
            what=_l("Funds in place not reported"),
            enterprise_id=project.enterprise_id,
            title=project.name,
            enterprise_name=project.enterprise.name,
            endpoint="projects.detail",
            args={"project_id": project.id},
            lines=[
                (_l("Stage"), labels.label(project.stage)),
                (_l("Month to report"), _month_text(month)),
            ],
        )


def _month_text(month: date) -> str:
    from crm.enterprises.timeline_display import month_text

    return month_text(month.isoformat()[:7])


# -- the periodic pass ---------------------------------------------------------------------
def _live_enterprise():
    deleted = select(Enterprise.id).where(Enterprise.deleted_at.is_not(None))
    return Project.enterprise_id.not_in(deleted)


def _waiting(subject_type: str) -> dict[int, set]:
    """Project id -> the occasions of its rows still waiting to be sent."""
    rows = db.session.execute(
        select(Reminder.subject_id, Reminder.occasion_at).where(
            Reminder.status.in_(WAITING), Reminder.subject_type == subject_type
        )
    )
    found: dict[int, set] = defaultdict(set)
    for subject_id, occasion_at in rows:
        found[subject_id].add(occasion_at)
    return found


def _replan(subject_type: str, ids) -> int:
    count = 0
    for project_id in sorted(ids):
        project = db.session.get(Project, project_id)
        if project is not None:
            planner.replan(subject_type, project)
            count += 1
    return count


def plan_stalled(today: date | None = None) -> int:
    """Plan the rows of projects stalled now and not planned for this stall yet; replan those
    whose waiting rows belong to another occasion (progress since, a threshold changed)."""
    today = today or local_today()
    thresholds = figures.stall_thresholds()

    def occasion(stage, county_id, last_progress_on):
        day = stalled_on(stage, county_id, last_progress_on, thresholds)
        return morning_of(day) if day is not None else None

    # ix_project_live_stage serves the stalled test; planned occasions come from the
    # reminder rows of those projects only (ix_reminder_subject).
    is_stalled = figures.stalled_condition(today)
    stalled = db.session.execute(
        select(Project.id, Project.stage, Project.county_id, Project.last_progress_on).where(
            Project.deleted_at.is_(None), _live_enterprise(), is_stalled
        )
    ).all()
    planned: dict[int, set] = defaultdict(set)
    if stalled:
        stalled_ids = select(Project.id).where(Project.deleted_at.is_(None), is_stalled)
        for subject_id, occasion_at in db.session.execute(
            select(Reminder.subject_id, Reminder.occasion_at)
            .where(
                Reminder.subject_type == STALLED,
                Reminder.subject_id.in_(stalled_ids),
                # A cancelled row of this stall means who should hear of it changed.
                Reminder.status != ReminderStatus.CANCELLED,
            )
            .distinct()
        ):
            planned[subject_id].add(occasion_at)
    todo = {
        row.id
        for row in stalled
        if occasion(row.stage, row.county_id, row.last_progress_on) not in planned[row.id]
    }
    waiting = _waiting(STALLED)
    for ids in _chunks(list(waiting)):
        for row in db.session.execute(
            select(
                Project.id,
                Project.stage,
                Project.county_id,
                Project.last_progress_on,
                Project.deleted_at,
            ).where(Project.id.in_(ids))
        ):
            current = occasion(row.stage, row.county_id, row.last_progress_on)
            if row.deleted_at is not None or waiting[row.id] != {current}:
                todo.add(row.id)
    # Rows of projects gone for good or of deleted enterprises: planner.match cancels them.
    return _replan(STALLED, todo)


def plan_funds(today: date | None = None) -> int:
    """From day REMINDER_FUNDS_DAY: plan the rows of projects without last month's funds
    entry; any day: replan projects whose waiting rows are no longer wanted."""
    today = today or local_today()
    month, this_month = funds_month(today)
    due_day, _escalation_day = funds_days()
    due = morning_of(this_month.replace(day=due_day))
    todo: set[int] = set()
    if today.day >= due_day:
        planned = exists().where(
            Reminder.subject_type == FUNDS,
            Reminder.subject_id == Project.id,
            Reminder.occasion_at == due,
            Reminder.status != ReminderStatus.CANCELLED,
        )
        todo |= set(
            db.session.execute(
                select(Project.id).where(
                    *missing_funds_conditions(month, this_month), _live_enterprise(), ~planned
                )
            ).scalars()
        )
    waiting = _waiting(FUNDS)
    for ids in _chunks(list(waiting)):
        still = set(
            db.session.execute(
                select(Project.id).where(
                    Project.id.in_(ids),
                    *missing_funds_conditions(month, this_month),
                    _live_enterprise(),
                )
            ).scalars()
        )
        todo |= {pid for pid in ids if pid not in still or waiting[pid] != {due}}
    return _replan(FUNDS, todo)


def _chunks(ids: list[int]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def plan_periodic(today: date | None = None) -> dict[str, int]:
    """The projects' share of the beat's planning pass: how many projects were replanned."""
    return {STALLED: plan_stalled(today), FUNDS: plan_funds(today)}


register(ProjectStalledPlan())
register(ProjectFundsPlan())
