"""What every child record of an enterprise's file shares: optimistic locking and soft delete.

Contacts, notes, visits, issues and documents were each written with their own
copy of these rules; one copy keeps the message, the comparison and the
timeline event the same everywhere.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from crm import timeline
from crm.errors import StaleEditError
from crm.extensions import db
from crm.models import User
from crm.models.base import utcnow

STALE_MESSAGE = _l(
    "This record was changed by someone else since you opened it. Your changes were not "
    "saved: reload the page to see the current version."
)


def check_version(record, expected_version, *, allow_missing: bool = True) -> None:
    """Refuse an edit made on an older version of ``record`` (the form's hidden field).

    ``None`` means the caller has no version to compare (a script, a task), which
    most services accept; visits and issues were written to insist on one, so they
    pass ``allow_missing=False``. The value is compared as a number because it comes
    back from the form as text.
    """
    if expected_version is None:
        if allow_missing:
            return
        raise StaleEditError(STALE_MESSAGE)
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        expected = None  # a tampered or empty field: treat it as outdated, never crash
    if expected != record.version:
        raise StaleEditError(STALE_MESSAGE)


def soft_delete(record, subject_type: str, *, actor: User | None, data: dict[str, Any]) -> None:
    """Hide ``record`` and note ``<subject_type>.deleted`` in its enterprise's file.

    Rows are never removed, so an administrator can restore them from the trash.
    """
    record.deleted_at = utcnow()
    record.deleted_by_id = actor.id if actor else None
    timeline.record(
        record.enterprise_id,
        f"{subject_type}.deleted",
        actor=actor,
        subject_type=subject_type,
        subject_id=record.id,
        data=data,
    )
    db.session.flush()
