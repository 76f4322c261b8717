"""The bureau's calendar: due dates and visit days are local days, not UTC ones.

UTC's date is wrong for the first eight hours of a day in China, so "overdue"
and "today" are always computed here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_ZONE = "Asia/Shanghai"


def local_zone() -> ZoneInfo:
    name = DEFAULT_ZONE
    if has_app_context():
        name = current_app.config.get("BABEL_DEFAULT_TIMEZONE", name)
    return ZoneInfo(name)


def local_now() -> datetime:
    return datetime.now(local_zone())


def local_today() -> date:
    return local_now().date()


def local_date(moment: datetime) -> date:
    """The local day a moment falls on (a naive moment is UTC, as the database keeps it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(local_zone()).date()


def local_noon(day: date) -> datetime:
    """Where a dated event (a visit) sits in the time-ordered file."""
    return datetime.combine(day, time(12, 0), tzinfo=local_zone())


def next_monday(today: date | None = None) -> date:
    """The day after this local week ends ("due this week" is before it; weeks start Monday)."""
    today = today or local_today()
    return today + timedelta(days=7 - today.weekday())
