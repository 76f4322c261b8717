"""Visits and events, and the follow-ups (next steps) they produce.

Plain verb functions: they validate, change, record the timeline event and
flush. The caller (a view or a task) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select, update
from sqlalchemy.orm import joinedload

from crm import timeline
from crm.clock import local_noon, local_today, next_monday
from crm.errors import ServiceError
from crm.extensions import db
from crm.models import (
    Contact,
    Enterprise,
    Flag,
    FollowUp,
    FollowUpStatus,
    TimelineEvent,
    User,
    Visit,
    VisitKind,
)
from crm.models.base import utcnow
from crm.records import check_version, soft_delete
from crm.reminders import planner
from crm.text import blank_to_none, excerpt

VISIT_FIELDS = [
    "kind",
    "visit_date",
    "place",
    "summary",
    "concerns",
    "flag",
    "participants",
    "contacts_met",
]
VISIT_ENUMS = {"kind": "VisitKind", "flag": "Flag"}
FOLLOW_UP_FIELDS = ["title", "due_date", "owner", "status"]
FOLLOW_UP_ENUMS = {"status": "FollowUpStatus"}

TITLE_LENGTH = 60
TEXT_LENGTH = 500
# A visit may be logged the evening before it happens (trips are planned),
# but not further ahead: the file records what happened.
MAX_DAYS_AHEAD = 1


# -- helpers -------------------------------------------------------------------
def visit_title(visit: Visit) -> str:
    return visit.place or excerpt(visit.summary, TITLE_LENGTH)


def _check_visit_date(visit_date: date | None) -> None:
    if visit_date is None:
        raise ServiceError(_l("Enter the date of the visit."), "visit_date")
    if visit_date > local_today() + timedelta(days=MAX_DAYS_AHEAD):
        raise ServiceError(_l("The date cannot be more than one day in the future."), "visit_date")


def _check_contacts(enterprise: Enterprise, contacts: Iterable[Contact], allowed_ids=()) -> None:
    """Only this enterprise's contacts; deleted ones only if already linked."""
    for contact in contacts:
        if contact.enterprise_id != enterprise.id or (
            contact.deleted_at is not None and contact.id not in allowed_ids
        ):
            raise ServiceError(_l("Choose contacts of this enterprise."), "contacts_met")


def _check_participants(users: Iterable[User], allowed_ids=()) -> None:
    for user in users:
        if not user.active and user.id not in allowed_ids:
            raise ServiceError(_l("Choose active users."), "participants")


def check_due_date(due_date: date | None, field: str = "due_date") -> None:
    if due_date is not None and due_date < local_today():
        raise ServiceError(_l("The due date cannot be in the past."), field)


def _visit_payload(visit: Visit) -> dict:
    return {
        "title": visit_title(visit),
        "visit_id": visit.id,
        "enum": dict(VISIT_ENUMS),
    }


# -- visits ----------------------------------------------------------------------
def log_visit(
    enterprise: Enterprise,
    *,
    actor: User | None,
    kind: VisitKind | str,
    visit_date: date | None,
    summary: str,
    place: str | None = None,
    concerns: str | None = None,
    flag: Flag | str = Flag.NONE,
    participants: Iterable[User] = (),
    contacts_met: Iterable[Contact] = (),
    next_step_title: str | None = None,
    next_step_due: date | None = None,
    next_step_owner: User | None = None,
) -> Visit:
    """Log a visit or event; a next step (title + due date) becomes a follow-up."""
    summary = blank_to_none(summary)
    if not summary:
        raise ServiceError(_l("Write what was said."), "summary")
    _check_visit_date(visit_date)
    participants, contacts_met = list(participants), list(contacts_met)
    _check_participants(participants)
    _check_contacts(enterprise, contacts_met)
    next_step_title = blank_to_none(next_step_title)
    _check_next_step(next_step_title, next_step_due)
    if next_step_owner is not None and not next_step_owner.active:
        raise ServiceError(_l("Choose an active user."), "next_step_owner")

    visit = Visit(
        enterprise_id=enterprise.id,
        kind=VisitKind(kind),
        visit_date=visit_date,
        place=blank_to_none(place),
        summary=summary,
        concerns=blank_to_none(concerns),
        flag=Flag(flag or Flag.NONE),
        created_by_id=actor.id if actor else None,
    )
    visit.participants = participants
    visit.contacts_met = contacts_met
    db.session.add(visit)
    db.session.flush()

    data = _visit_payload(visit)
    data.update(timeline.snapshot(visit, ["kind", "flag", "participants", "contacts_met"]))
    data.update(
        text=excerpt(visit.summary, TEXT_LENGTH),
        concerns=excerpt(visit.concerns, TEXT_LENGTH) or None,
        visit_date=visit.visit_date.isoformat(),
    )
    timeline.record(
        enterprise.id,
        "visit.logged",
        actor=actor,
        subject_type="visit",
        subject_id=visit.id,
        data=data,
        occurred_at=local_noon(visit.visit_date),
    )
    if next_step_title:
        create_follow_up(
            enterprise,
            actor=actor,
            title=next_step_title,
            due_date=next_step_due,
            owner=next_step_owner or actor,
            visit=visit,
        )
    db.session.flush()
    return visit


def _check_next_step(title: str | None, due_date: date | None) -> None:
    if title and due_date is None:
        raise ServiceError(_l("Give the next step a due date."), "next_step_due")
    if due_date is not None and not title:
        raise ServiceError(_l("Describe the next step."), "next_step_title")
    check_due_date(due_date, "next_step_due")


def update_visit(
    visit: Visit,
    *,
    actor: User | None,
    expected_version,
    kind: VisitKind | str,
    visit_date: date | None,
    summary: str,
    place: str | None = None,
    concerns: str | None = None,
    flag: Flag | str = Flag.NONE,
    participants: Iterable[User] = (),
    contacts_met: Iterable[Contact] = (),
) -> Visit:
    check_version(visit, expected_version, allow_missing=False)
    summary = blank_to_none(summary)
    if not summary:
        raise ServiceError(_l("Write what was said."), "summary")
    _check_visit_date(visit_date)
    participants, contacts_met = list(participants), list(contacts_met)
    _check_participants(participants, {u.id for u in visit.participants})
    _check_contacts(visit.enterprise, contacts_met, {c.id for c in visit.contacts_met})

    before = timeline.snapshot(visit, VISIT_FIELDS)
    visit.kind = VisitKind(kind)
    visit.visit_date = visit_date
    visit.place = blank_to_none(place)
    visit.summary = summary
    visit.concerns = blank_to_none(concerns)
    visit.flag = Flag(flag or Flag.NONE)
    visit.participants = participants
    visit.contacts_met = contacts_met
    after = timeline.snapshot(visit, VISIT_FIELDS)
    if before["visit_date"] != after["visit_date"]:
        _redate_logged_event(visit)
    if before != after:
        # Changing only who went or whom we met touches link tables, not the visit
        # row; touching the row makes the version check (and bump) happen anyway.
        visit.updated_at = utcnow()
        timeline.record_change(
            visit.enterprise_id,
            "visit.updated",
            actor=actor,
            subject_type="visit",
            subject_id=visit.id,
            before=before,
            after=after,
            data=_visit_payload(visit),
        )
    db.session.flush()
    return visit


def _redate_logged_event(visit: Visit) -> None:
    """Keep the file ordered by when the visit happened after its date is corrected."""
    db.session.execute(
        update(TimelineEvent)
        .where(
            TimelineEvent.subject_type == "visit",
            TimelineEvent.subject_id == visit.id,
            TimelineEvent.kind == "visit.logged",
        )
        .values(occurred_at=local_noon(visit.visit_date))
        .execution_options(synchronize_session=False)
    )


def delete_visit(visit: Visit, *, actor: User | None) -> None:
    """Soft delete; its follow-ups stay (a promised next step is not forgotten)."""
    soft_delete(visit, "visit", actor=actor, data=_visit_payload(visit))


def visit_follow_ups(visit: Visit) -> list[FollowUp]:
    stmt = (
        select(FollowUp)
        .options(joinedload(FollowUp.owner))
        .where(FollowUp.visit_id == visit.id, FollowUp.deleted_at.is_(None))
        .order_by(FollowUp.due_date, FollowUp.id)
    )
    return list(db.session.execute(stmt).scalars())


# -- follow-ups ----------------------------------------------------------------
def create_follow_up(
    enterprise: Enterprise,
    *,
    actor: User | None,
    title: str,
    due_date: date | None,
    owner: User | None = None,
    visit: Visit | None = None,
) -> FollowUp:
    title = blank_to_none(title)
    if not title:
        raise ServiceError(_l("Describe the next step."), "title")
    if due_date is None:
        raise ServiceError(_l("Give the next step a due date."), "due_date")
    check_due_date(due_date)
    if visit is not None and visit.enterprise_id != enterprise.id:
        raise ServiceError(_l("The visit belongs to another enterprise."), "visit")
    owner = owner or actor
    follow_up = FollowUp(
        enterprise_id=enterprise.id,
        visit_id=visit.id if visit else None,
        title=title,
        due_date=due_date,
        owner_id=owner.id if owner else None,
        status=FollowUpStatus.OPEN,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(follow_up)
    db.session.flush()
    timeline.record(
        enterprise.id,
        "follow_up.created",
        actor=actor,
        subject_type="follow_up",
        subject_id=follow_up.id,
        data={
            "title": title,
            "due_date": due_date.isoformat(),
            "owner": owner.name if owner else None,
            "visit_id": visit.id if visit else None,
        },
    )
    planner.replan("follow_up", follow_up)
    return follow_up


def complete_follow_up(follow_up: FollowUp, *, actor: User | None) -> bool:
    """Mark done; False (and nothing recorded) when it was done already."""
    if follow_up.status == FollowUpStatus.DONE:
        return False
    follow_up.status = FollowUpStatus.DONE
    follow_up.done_at = utcnow()
    follow_up.done_by_id = actor.id if actor else None
    timeline.record(
        follow_up.enterprise_id,
        "follow_up.done",
        actor=actor,
        subject_type="follow_up",
        subject_id=follow_up.id,
        data={
            "title": follow_up.title,
            "due_date": follow_up.due_date.isoformat(),
            "visit_id": follow_up.visit_id,
        },
    )
    db.session.flush()
    planner.replan("follow_up", follow_up)
    return True


def follow_ups_query(
    scope,
    *,
    owner: User | None = None,
    status: FollowUpStatus | None = FollowUpStatus.OPEN,
    overdue_only: bool = False,
    due: str | None = None,
) -> Select:
    """Follow-ups of live enterprises inside ``scope`` (an access.enterprise_scope() condition).

    ``due`` is "overdue" (open, due before today), "week" (due from today to the
    end of this local week, Sunday) or "escalated" (raised to a manager: an
    Escalation row).
    """
    stmt = (
        select(FollowUp)
        .join(Enterprise, Enterprise.id == FollowUp.enterprise_id)
        .options(
            joinedload(FollowUp.enterprise),
            joinedload(FollowUp.owner),
            joinedload(FollowUp.visit),
        )
        .where(scope, Enterprise.deleted_at.is_(None), FollowUp.deleted_at.is_(None))
    )
    if owner is not None:
        stmt = stmt.where(FollowUp.owner_id == owner.id)
    if status is not None:
        stmt = stmt.where(FollowUp.status == status)
    if overdue_only or due == "overdue":
        stmt = stmt.where(FollowUp.status == FollowUpStatus.OPEN, FollowUp.due_date < local_today())
    elif due == "week":
        today = local_today()
        stmt = stmt.where(FollowUp.due_date >= today, FollowUp.due_date < next_monday(today))
    elif due == "escalated":
        stmt = stmt.where(planner.escalated_condition("follow_up", FollowUp.id))
    if status == FollowUpStatus.DONE:
        return stmt.order_by(FollowUp.done_at.desc(), FollowUp.id.desc())
    return stmt.order_by(FollowUp.due_date, FollowUp.id)


def due_group(follow_up: FollowUp, today: date | None = None) -> str:
    """overdue / today / week (the next seven days) / later / done."""
    if follow_up.status == FollowUpStatus.DONE:
        return "done"
    today = today or local_today()
    if follow_up.due_date < today:
        return "overdue"
    if follow_up.due_date == today:
        return "today"
    if follow_up.due_date <= today + timedelta(days=7):
        return "week"
    return "later"


def active_users() -> list[User]:
    return list(
        db.session.execute(select(User).where(User.active.is_(True)).order_by(User.name)).scalars()
    )


def live_contacts(enterprise: Enterprise) -> list[Contact]:
    return list(
        db.session.execute(
            select(Contact)
            .where(Contact.enterprise_id == enterprise.id, Contact.deleted_at.is_(None))
            .order_by(Contact.is_main.desc(), Contact.name)
        ).scalars()
    )
