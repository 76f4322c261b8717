"""The daily digest: one mail a day carrying every reminder held for its reader.

A reader of digests (User.reminder_digest) gets single reminders held
(status HELD) by crm.reminders.delivery.send. ``plan_digests`` (beat, every few
minutes) keeps one "digest" reminder per reader planned for the next
``digest_hour`` (local); when the sweep sends it, ``prepare`` collects what is
held, asks each item whether it still wants its reminder, and renders the mail;
``finish`` marks the carried reminders sent, with ``digest_id``, in the same
transaction as the digest's own "sent". What is held after a day's digest went
out waits for the next day's. A digest with nothing to carry is cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app, render_template
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from crm.clock import local_zone
from crm.extensions import db
from crm.formatting import date_text
from crm.models import Reminder, ReminderStatus, User
from crm.models.base import utcnow
from crm.reminders import compose, delivery, planner

KIND = "digest"
SUBJECT_TYPE = "digest"

# The digest's sections, in the order they are read; a reminder's occasion (the
# part of its kind after the dot) decides its section.
GROUPS = (
    ("escalations", _l("Escalated to you")),
    ("due", _l("Due now")),
    ("coming", _l("Coming up")),
)
GROUP_OF = {"escalation": "escalations", "reopened": "escalations", "before": "coming"}


def key(user_id: int, day: date) -> str:
    return f"digest:u{user_id}:{day.isoformat()}"


def next_digest(user: User, now: datetime) -> tuple[date, datetime]:
    """The local day and the moment (UTC) of the user's next digest after ``now``."""
    zone = local_zone()
    local = now.astimezone(zone)
    hour = min(max(user.digest_hour or 0, 0), 23)
    day = local.date()
    at = datetime.combine(day, time(hour, 0), tzinfo=zone)
    if at <= local:
        day += timedelta(days=1)
        at = datetime.combine(day, time(hour, 0), tzinfo=zone)
    return day, at.astimezone(UTC)


def _placeholder_subject(user: User, day: date) -> str:
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        return _("Your reminders of %(date)s", date=date_text(day))


def plan_digests(now: datetime | None = None) -> int:
    """Plan each active reader's next digest (once: the dedupe key names the local day).

    Also plans one for whoever still has reminders held but no longer reads a
    digest, so nothing held waits for ever; a changed digest hour moves the
    digest still waiting. Returns the number of digests added.
    """
    now = now or utcnow()
    held_for = select(Reminder.recipient_id).where(Reminder.status == ReminderStatus.HELD)
    readers = db.session.execute(
        select(User)
        .where(User.active.is_(True), or_(User.reminder_digest.is_(True), User.id.in_(held_for)))
        .order_by(User.id)
    ).scalars()
    added = 0
    wanted_at: dict[str, datetime] = {}
    for user in readers:
        day, at = next_digest(user, now)
        dedupe_key = key(user.id, day)
        if delivery.schedule(
            kind=KIND,
            recipient=user,
            subject_type=SUBJECT_TYPE,
            subject_id=None,
            due_at=at,
            dedupe_key=dedupe_key,
            subject=_placeholder_subject(user, day),
            body="",
        ):
            added += 1
        else:
            wanted_at[dedupe_key] = at
    keys = list(wanted_at)
    for start in range(0, len(keys), 500):
        rows = db.session.execute(
            select(Reminder.id, Reminder.dedupe_key, Reminder.due_at).where(
                Reminder.dedupe_key.in_(keys[start : start + 500]),
                Reminder.status == ReminderStatus.PENDING,
            )
        )
        for reminder_id, dedupe_key, due_at in rows:
            if due_at != wanted_at[dedupe_key]:
                db.session.execute(
                    update(Reminder)
                    .where(Reminder.id == reminder_id, Reminder.status == ReminderStatus.PENDING)
                    .values(due_at=wanted_at[dedupe_key])
                    .execution_options(synchronize_session=False)
                )
    return added


# -- at send time --------------------------------------------------------------------------
@dataclass
class Entry:
    reminder: Reminder
    title: str  # the reminder's own subject line (in the reader's language)
    what: str
    enterprise: str | None
    url: str | None


@dataclass
class Prepared:
    """The held reminders a digest carries (marked sent by ``finish``)."""

    reminders: list[Reminder] = field(default_factory=list)


def _entry(reminder: Reminder) -> Entry:
    plan = planner.PLANS.get(reminder.subject_type)
    item = plan.load(reminder.subject_id) if plan is not None and reminder.subject_id else None
    if item is not None:
        described = plan.describe(item)
        return Entry(
            reminder,
            reminder.subject,
            str(described.what),
            described.enterprise_name,
            compose.external_url(described.endpoint, **described.args),
        )
    url = None
    if reminder.enterprise_id is not None:
        url = compose.external_url("enterprises.file", enterprise_id=reminder.enterprise_id)
    return Entry(reminder, reminder.subject, "", None, url)


def held_for(user: User) -> list[Reminder]:
    stmt = (
        select(Reminder)
        .where(
            Reminder.recipient_id == user.id,
            Reminder.status == ReminderStatus.HELD,
            Reminder.digest_id.is_(None),
        )
        .order_by(Reminder.due_at, Reminder.id)
        .execution_options(populate_existing=True)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # Two digests of one reader sent at once: the second waits, then finds none held.
        stmt = stmt.with_for_update()
    return list(db.session.execute(stmt).scalars())


def prepare(digest: Reminder, now: datetime | None = None) -> Prepared | None:
    """Collect and render what ``digest`` carries (into its subject and bodies); None when
    there is nothing to carry. Held reminders no longer wanted are cancelled here."""
    now = now or utcnow()
    user = digest.recipient
    if not user.active:
        return None
    carried: list[Reminder] = []
    for reminder in held_for(user):
        want = planner.match(reminder)
        if want is None:
            reminder.status = ReminderStatus.CANCELLED
            continue
        # As for a single mail: an escalation is recorded before the mail goes.
        planner.on_send(reminder, want, now)
        carried.append(reminder)
    db.session.flush()
    if not carried:
        return None
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        groups: dict[str, list[Entry]] = {name: [] for name, _label in GROUPS}
        for reminder in carried:
            occasion = reminder.kind.rpartition(".")[2]
            groups[GROUP_OF.get(occasion, "due")].append(_entry(reminder))
        day = now.astimezone(local_zone()).date()
        context = {
            "recipient": user,
            "day": date_text(day),
            "count": len(carried),
            "sections": [
                (name, str(label), groups[name]) for name, label in GROUPS if groups[name]
            ],
            "preferences_url": compose.external_url("account.reminder_preferences"),
        }
        digest.subject = ngettext(
            "Your daily digest of %(date)s: %(num)d reminder",
            "Your daily digest of %(date)s: %(num)d reminders",
            len(carried),
            date=date_text(day),
        )[:300]
        digest.body = render_template("mail/digest.txt", **context)
        digest.body_html = render_template("mail/digest.html", **context)
    db.session.flush()
    return Prepared(carried)


def finish(prepared: Prepared, digest: Reminder, now: datetime) -> None:
    """The digest went out: each carried reminder is sent, by this digest (same transaction)."""
    for reminder in prepared.reminders:
        reminder.digest_id = digest.id
        delivery.mark_sent(reminder, now)
