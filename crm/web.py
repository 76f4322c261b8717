"""What the views share when they hand a form to a service and commit.

Every edit view had its own copy of "call the service, commit, and on a stale
version or a broken rule roll back and tell the user"; keeping one copy keeps
the status codes and messages the same across features.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, request, url_for
from sqlalchemy.orm.exc import StaleDataError

from crm.errors import ServiceError, StaleEditError
from crm.extensions import db
from crm.records import STALE_MESSAGE

CONFLICT = 409


def show_service_error(form, error: ServiceError) -> None:
    """Put a service's complaint under the field it concerns, or flash it.

    Services name a relation ("known_by", "parent"); the form may hold its id
    ("known_by_id", "parent_id"). A stale version is about the whole record, so it
    is always flashed.
    """
    field = None
    if error.field and form is not None:
        field = form._fields.get(error.field) or form._fields.get(f"{error.field}_id")
    if field is not None and not isinstance(error, StaleEditError):
        field.errors = [*field.errors, error.message]
    else:
        flash(str(error.message), "danger")


def flash_stale() -> None:
    flash(str(STALE_MESSAGE), "danger")


@dataclass
class Outcome:
    """What ``save`` did: ``status`` is None when it committed, else the HTTP status to answer."""

    value: Any = None
    status: int | None = None
    error: ServiceError | None = (
        None  # the broken rule, for views that show more (a duplicate's link)
    )

    @property
    def saved(self) -> bool:
        return self.status is None


def save(action: Callable[[], Any], form=None, *, invalid_status: int = 400) -> Outcome:
    """Run ``action`` (a service call) and commit once.

    A stale version (ours, or SQLAlchemy's ``version_id_col`` catching a race at
    flush/commit) rolls back and flashes, answering 409; any other rule the service
    enforces rolls back and lands on the form's field, answering ``invalid_status``
    (features differ: 400, 422, or 200 in the admin area).
    """
    try:
        value = action()
        db.session.commit()
    except (StaleEditError, StaleDataError):
        db.session.rollback()
        flash_stale()
        return Outcome(status=CONFLICT)
    except ServiceError as error:
        db.session.rollback()
        show_service_error(form, error)
        return Outcome(status=invalid_status, error=error)
    return Outcome(value=value)


def submit(form, action: Callable[[], Any], *, invalid_status: int = 400) -> Outcome:
    """A form view's whole submit step: ``save(action)`` when the form validates.

    Not submitted (a GET) answers 200 and an invalid submission ``invalid_status``,
    both unsaved; so a view flashes and redirects when ``outcome.saved`` and
    otherwise renders its form with ``outcome.status``.
    """
    if form.validate_on_submit():
        return save(action, form, invalid_status=invalid_status)
    return Outcome(status=invalid_status if request.method == "POST" else 200)


def back_to_file(enterprise_id: int):
    """After a change to one of its records, the user returns to the enterprise's file."""
    return redirect(url_for("enterprises.file", enterprise_id=enterprise_id))
