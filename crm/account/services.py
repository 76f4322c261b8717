"""A user's own settings: reminder preferences."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.errors import ServiceError
from crm.extensions import db
from crm.models import User
from crm.records import check_version
from crm.reminders import planner

MAX_BEFORE_MINUTES = 14 * 24 * 60


def save_reminder_preferences(
    user: User, *, version, remind_before_minutes: int, reminder_digest: bool, digest_hour: int
) -> int:
    """Save and move the user's waiting reminders to the new offset; the number of items replanned."""
    check_version(user, version)
    if not 0 <= remind_before_minutes <= MAX_BEFORE_MINUTES:
        raise ServiceError(_l("Choose one of the offered times."), "remind_before_minutes")
    if not 0 <= digest_hour <= 23:
        raise ServiceError(_l("An hour from 0 to 23."), "digest_hour")
    user.remind_before_minutes = remind_before_minutes
    user.reminder_digest = reminder_digest
    user.digest_hour = digest_hour
    db.session.flush()
    return planner.replan_for_user(user)
