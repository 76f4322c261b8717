"""Which reminders each dated item wants, kept in step with the item.

For an item as it stands, a plan (one per subject type) lists every reminder it
wants: before due (the recipient's preferred offset), on due, and once overdue
one escalation per level of the organisation. The list depends on the item's
state only, never on the clock, so:

- ``replan`` (called by services in the same transaction as a change) adds what
  is missing, moves pending ones whose time changed, rewrites the text of those
  still to go out (a new title, the reader's new language), revives cancelled
  ones that are wanted again and cancels pending ones no longer wanted;
- ``match`` asks the same question when a reminder is about to be sent, so one
  whose item was done, moved or reassigned since it was claimed is not sent.

Escalation levels: level 1 is the responsible unit's managers, level 2 the next
unit up that has managers, and so on. An Escalation row per (item, level) is the
rule "at most one escalation per level": a level spent on an earlier deadline
(or a reopening) is skipped for later ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Protocol

from flask import current_app
from sqlalchemy import exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from crm import clock, timeline
from crm.extensions import db
from crm.models import Escalation, OrgUnit, Reminder, ReminderStatus, Role, User, user_unit
from crm.models.base import utcnow

# Statuses a replan may still change: not yet claimed, or waiting for a digest.
OPEN_ROWS = (ReminderStatus.PENDING, ReminderStatus.HELD, ReminderStatus.CANCELLED)
# Kinds that never wait for a digest: the digest itself and the monthly report.
NEVER_HELD = {"digest", "report.published"}


@dataclass(frozen=True)
class Wanted:
    """One reminder an item wants: what, for whom, when, and for which deadline."""

    kind: str  # "<subject type>.<occasion>", e.g. "follow_up.before", "issue.escalation"
    recipient: User
    due_at: datetime
    occasion_at: datetime | None
    key: str
    level: int | None = None
    unit_id: int | None = None
    reason: str | None = None


@dataclass
class Described:
    """What a mail says about its item, and where the link goes."""

    what: str  # "Follow-up", "Enterprise issue" … (a lazy string)
    enterprise_id: int | None
    title: str
    enterprise_name: str | None
    endpoint: str
    args: dict = field(default_factory=dict)
    dated: bool = True  # due on a day (follow-ups) rather than at a moment (issue steps)
    lines: list[tuple[str, str]] = field(default_factory=list)  # extra (label, value) rows


class SubjectPlan(Protocol):
    subject_type: str

    def load(self, subject_id: int): ...

    def wanted(self, item) -> list[Wanted]: ...

    def describe(self, item) -> Described: ...


PLANS: dict[str, SubjectPlan] = {}

# Set by ``match`` for a reminder that is not an escalation: its plan's escalation
# rows cannot decide it, and computing them (the ladder, the spent levels) costs
# queries on every send.
_owners_only: ContextVar[bool] = ContextVar("reminder_owners_only", default=False)


def register(plan: SubjectPlan) -> SubjectPlan:
    PLANS[plan.subject_type] = plan
    return plan


def key(
    subject_type: str, subject_id: int, occasion: str, at: datetime | None, user_id: int
) -> str:
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%MZ") if at is not None else "-"
    return f"{subject_type}:{subject_id}:{occasion}:{stamp}:u{user_id}"


# -- building blocks for plans -------------------------------------------------------------
def morning_of(day) -> datetime:
    """A dated item is due at 09:00 local time on its day (the working day's start)."""
    hour = current_app.config.get("REMINDER_HOUR", 9)
    return datetime.combine(day, time(hour, 0), tzinfo=clock.local_zone()).astimezone(UTC)


def deadline_rows(
    subject_type: str,
    subject_id: int,
    owners: Iterable[User],
    due: datetime,
    started: datetime | None,
) -> list[Wanted]:
    """Before due (never earlier than the item began) and on due, for each owner."""
    rows = []
    for owner in owners:
        if not owner.active:
            continue
        before = owner.remind_before_minutes or 0
        if before > 0:
            at = due - timedelta(minutes=before)
            if started is not None:
                at = max(at, started)
            if at < due:
                rows.append(
                    Wanted(
                        f"{subject_type}.before",
                        owner,
                        at,
                        due,
                        key(subject_type, subject_id, "before", due, owner.id),
                    )
                )
        rows.append(
            Wanted(
                f"{subject_type}.due",
                owner,
                due,
                due,
                key(subject_type, subject_id, "due", due, owner.id),
            )
        )
    return rows


def ladder(unit: OrgUnit | None) -> list[tuple[OrgUnit, list[User]]]:
    """The unit and the units above it that have active managers, nearest first."""
    if unit is None:
        return []
    ids = [int(part) for part in unit.path.strip("/").split("/") if part][::-1] or [unit.id]
    rows = db.session.execute(
        select(User, user_unit.c.unit_id)
        .join(user_unit, user_unit.c.user_id == User.id)
        .where(user_unit.c.unit_id.in_(ids), User.role == Role.MANAGER, User.active.is_(True))
        .order_by(User.id)
    ).all()
    managers: dict[int, list[User]] = {}
    for user, unit_id in rows:
        managers.setdefault(unit_id, []).append(user)
    return [(db.session.get(OrgUnit, i), managers[i]) for i in ids if managers.get(i)]


def escalations(subject_type: str, subject_id: int) -> list[Escalation]:
    """An item's escalations, lowest level first (at most one per level)."""
    return list(
        db.session.execute(
            select(Escalation)
            .options(joinedload(Escalation.unit))
            .where(Escalation.subject_type == subject_type, Escalation.subject_id == subject_id)
            .order_by(Escalation.level)
        ).scalars()
    )


def escalations_of(subject_type: str, subject_id: int) -> dict[int, Escalation]:
    return {row.level: row for row in escalations(subject_type, subject_id)}


def escalated_condition(subject_type: str, id_column):
    """SQL: the row ``id_column`` belongs to has been escalated (for list filters)."""
    return exists().where(
        Escalation.subject_type == subject_type, Escalation.subject_id == id_column
    )


def escalated_ids(subject_type: str, subject_ids: Iterable[int]) -> set[int]:
    """Which of these items have been escalated (one query for a list page)."""
    ids = list(subject_ids)
    if not ids:
        return set()
    return set(
        db.session.execute(
            select(Escalation.subject_id).where(
                Escalation.subject_type == subject_type, Escalation.subject_id.in_(ids)
            )
        ).scalars()
    )


def escalation_rows(
    subject_type: str,
    subject_id: int,
    due: datetime,
    interval: timedelta,
    unit: OrgUnit | Callable[[], OrgUnit | None] | None,
    *,
    skip_user_ids: Iterable[int] = (),
    reason: str = "overdue",
) -> list[Wanted]:
    """One escalation per level not spent on another deadline: due + interval, + 2 × interval …

    ``reason`` is what the Escalation row records: overdue, stalled, funds. ``unit``
    may be a function, so that a send that needs no escalation does not look it up.
    """
    if _owners_only.get():
        return []
    if callable(unit):
        unit = unit()
    used = escalations_of(subject_type, subject_id)
    skip = set(skip_user_ids)
    rows: list[Wanted] = []
    step = 0
    for level, (level_unit, managers) in enumerate(ladder(unit), 1):
        spent = used.get(level)
        if spent is not None and spent.occasion_at != due:
            continue
        recipients = [m for m in managers if m.id not in skip]
        if not recipients:
            continue
        step += 1
        for manager in recipients:
            rows.append(
                Wanted(
                    f"{subject_type}.escalation",
                    manager,
                    due + step * interval,
                    due,
                    key(subject_type, subject_id, f"esc{level}", due, manager.id),
                    level=level,
                    unit_id=level_unit.id,
                    reason=reason,
                )
            )
    return rows


def spent_escalation_rows(subject_type: str, subject_id: int, reason: str) -> list[Wanted]:
    """Mails for escalations recorded at once (a reopened issue): to that level's managers."""
    if _owners_only.get():
        return []
    rows = []
    for level, spent in sorted(escalations_of(subject_type, subject_id).items()):
        if spent.reason != reason or spent.unit is None:
            continue
        for _unit, managers in ladder(spent.unit)[:1]:
            for manager in managers:
                rows.append(
                    Wanted(
                        f"{subject_type}.{reason}",
                        manager,
                        spent.at,
                        spent.at,
                        key(subject_type, subject_id, f"{reason}{level}", spent.at, manager.id),
                        level=level,
                        unit_id=spent.unit_id,
                        reason=reason,
                    )
                )
    return rows


def escalate_now(
    subject_type: str, item, unit: OrgUnit | None, *, reason: str, actor: User | None = None
) -> Escalation | None:
    """Record an escalation to the next unspent level now (e.g. an unsatisfied callback).

    Returns None when every level is spent (the top has been told already).
    """
    used = escalations_of(subject_type, item.id)
    for level, (level_unit, _managers) in enumerate(ladder(unit), 1):
        if level in used:
            continue
        now = utcnow()
        if not _insert_escalation(
            subject_type, item.id, item.enterprise_id, level, level_unit.id, reason, now, now
        ):
            return None
        _record_escalated(
            subject_type, item.id, item.enterprise_id, level, level_unit, reason, actor
        )
        return escalations_of(subject_type, item.id)[level]
    return None


def _insert_escalation(
    subject_type, subject_id, enterprise_id, level, unit_id, reason, occasion_at, now
) -> bool:
    maker = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = db.session.execute(
        maker(Escalation)
        .values(
            subject_type=subject_type,
            subject_id=subject_id,
            enterprise_id=enterprise_id,
            level=level,
            unit_id=unit_id,
            reason=reason,
            occasion_at=occasion_at,
            at=now,
        )
        .on_conflict_do_nothing(index_elements=["subject_type", "subject_id", "level"])
        .returning(Escalation.id)
    )
    return result.first() is not None


def _record_escalated(subject_type, subject_id, enterprise_id, level, unit, reason, actor) -> None:
    if enterprise_id is None:
        return
    timeline.record(
        enterprise_id,
        f"{subject_type}.escalated",
        actor=actor,
        subject_type=subject_type,
        subject_id=subject_id,
        data={"level": level, "unit": unit.name if unit else None, "reason": reason},
    )


# -- keeping rows in step ------------------------------------------------------------------
def replan(subject_type: str, item) -> None:
    """Bring the item's reminder rows in line with what it wants now (the caller commits)."""
    from crm.reminders import compose, delivery  # compose renders templates; both import models

    plan = PLANS[subject_type]
    wanted = {w.key: w for w in plan.wanted(item)}
    rows = db.session.execute(
        select(
            Reminder.id, Reminder.dedupe_key, Reminder.status, Reminder.due_at, Reminder.body
        ).where(Reminder.subject_type == subject_type, Reminder.subject_id == item.id)
    ).all()
    existing = {row.dedupe_key for row in rows}
    enterprise_id = item.enterprise_id

    def render(want):
        return compose.render(want, lambda: plan.describe(item))

    for row in rows:
        want = wanted.get(row.dedupe_key)
        if row.status not in OPEN_ROWS:
            continue  # queued, sent or failed: history, or the send decides (match)
        if want is None:
            if row.status != ReminderStatus.CANCELLED:
                _set(row.id, status=ReminderStatus.CANCELLED)
            continue
        # Still to go out: its text follows the item (a new title, the reader's language).
        subject, text, html = render(want)
        changes = {}
        if row.status == ReminderStatus.CANCELLED:
            changes["status"] = ReminderStatus.PENDING
        if row.due_at != want.due_at:
            changes["due_at"] = want.due_at
        if row.body != text:
            changes.update(subject=subject, body=text, body_html=html)
        if changes:
            _set(row.id, **changes)
    for want in (w for k, w in wanted.items() if k not in existing):
        subject, text, html = render(want)
        delivery.schedule(
            kind=want.kind,
            recipient=want.recipient,
            subject_type=subject_type,
            subject_id=item.id,
            enterprise_id=enterprise_id,
            due_at=want.due_at,
            dedupe_key=want.key,
            subject=subject,
            body=text,
            body_html=html,
            occasion_at=want.occasion_at,
            level=want.level,
        )


def _set(reminder_id: int, **values) -> None:
    db.session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def replan_for_user(user: User) -> int:
    """After a preference change: replan every item with a reminder still waiting for ``user``."""
    subjects = db.session.execute(
        select(Reminder.subject_type, Reminder.subject_id)
        .where(
            Reminder.recipient_id == user.id,
            Reminder.status.in_((ReminderStatus.PENDING, ReminderStatus.HELD)),
            Reminder.subject_type.in_(list(PLANS)),
        )
        .distinct()
    ).all()
    for subject_type, subject_id in subjects:
        item = PLANS[subject_type].load(subject_id)
        if item is not None:
            replan(subject_type, item)
    return len(subjects)


# -- at send time --------------------------------------------------------------------------
UNPLANNED = object()  # a reminder of a kind no plan owns (digests, reports): always current


def match(reminder: Reminder):
    """The Wanted this reminder still stands for, UNPLANNED, or None when it is no longer wanted."""
    plan = PLANS.get(reminder.subject_type)
    if plan is None:
        return UNPLANNED
    item = plan.load(reminder.subject_id) if reminder.subject_id is not None else None
    if item is None:
        return None
    token = _owners_only.set(reminder.level is None)
    try:
        wanted = plan.wanted(item)
    finally:
        _owners_only.reset(token)
    for want in wanted:
        if want.key == reminder.dedupe_key:
            return want
    return None


def holds_for_digest(reminder: Reminder) -> bool:
    return bool(reminder.recipient.reminder_digest) and reminder.kind not in NEVER_HELD


def on_send(reminder: Reminder, want, now: datetime) -> None:
    """An escalation mail about to go out records its escalation (once per level).

    A reopening's escalation was recorded when it happened (``escalate_now``).
    """
    if want is UNPLANNED or want is None or want.level is None or want.reason == "reopened":
        return
    if _insert_escalation(
        reminder.subject_type,
        reminder.subject_id,
        reminder.enterprise_id,
        want.level,
        want.unit_id,
        want.reason,
        want.occasion_at,
        now,
    ):
        _record_escalated(
            reminder.subject_type,
            reminder.subject_id,
            reminder.enterprise_id,
            want.level,
            db.session.get(OrgUnit, want.unit_id) if want.unit_id else None,
            want.reason,
            None,
        )
