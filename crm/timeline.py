"""Recording the enterprise's file (一企一档): every change becomes a timeline event.

Services call ``snapshot`` before they change a record and ``record_change``
after; the event keeps who, when and each field's old and new value as text,
so the file shows history even after the referenced rows change.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from crm.extensions import db
from crm.models import Enterprise, TimelineEvent, User
from crm.models.base import utcnow


def plain(value: Any) -> Any:
    """A JSON-safe, display-ready form of a field value."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        # One text per number: 100 万元 read back as 100.0000 is not a change.
        return format(value.normalize(), "f")
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(plain(v) for v in value)
    if hasattr(value, "name"):  # a related row: keep its name as it was then
        return value.name
    return str(value)


def snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    return {field: plain(getattr(obj, field)) for field in fields}


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"field": field, "old": before.get(field), "new": after.get(field)}
        for field in after
        if before.get(field) != after.get(field)
    ]


def record(
    enterprise_id: int,
    kind: str,
    *,
    actor: User | None,
    subject_type: str,
    subject_id: int | None,
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
    touch: bool = True,
) -> TimelineEvent:
    """Add one event to the file and mark the enterprise as recently active.

    ``last_activity_at`` is set with a plain UPDATE so that logging a visit does
    not bump the enterprise's version and spoil someone's open edit form. The
    system's own events (a reminder sent) pass ``touch=False``: they are not
    activity with the enterprise, and the UPDATE would make concurrent sends of
    one enterprise's reminders wait for each other.
    """
    now = utcnow()
    event = TimelineEvent(
        enterprise_id=enterprise_id,
        kind=kind,
        actor_id=actor.id if actor else None,
        subject_type=subject_type,
        subject_id=subject_id,
        data=data or {},
        occurred_at=occurred_at or now,
        recorded_at=now,
    )
    db.session.add(event)
    if not touch:
        return event
    db.session.execute(
        update(Enterprise)
        .where(Enterprise.id == enterprise_id)
        .values(last_activity_at=now)
        .execution_options(synchronize_session=False)
    )
    return event


def record_change(
    enterprise_id: int,
    kind: str,
    *,
    actor: User | None,
    subject_type: str,
    subject_id: int | None,
    before: dict[str, Any],
    after: dict[str, Any],
    data: dict[str, Any] | None = None,
) -> TimelineEvent | None:
    """Record an update; nothing is recorded when no field changed."""
    changes = changes_between(before, after)
    if not changes:
        return None
    payload = dict(data or {})
    payload["changes"] = changes
    return record(
        enterprise_id,
        kind,
        actor=actor,
        subject_type=subject_type,
        subject_id=subject_id,
        data=payload,
    )
