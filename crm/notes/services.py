"""Free-text notes on an enterprise's file."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm import timeline
from crm.errors import ServiceError
from crm.extensions import db
from crm.models import Enterprise, Note, User
from crm.records import check_version, soft_delete
from crm.text import excerpt

MAX_BODY = 10000
EXCERPT = 500  # what the file shows of a note (timeline "text")
TITLE_EXCERPT = 60


def _clean_body(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise ServiceError(_l("Write something in the note."), "body")
    if len(body) > MAX_BODY:
        raise ServiceError(_l("At most %(n)d characters.", n=MAX_BODY), "body")
    return body


def note_title(note: Note) -> str:
    """The note's first line, cut short: its headline in the file and the trash."""
    first_line = note.body.splitlines()[0] if note.body else ""
    return excerpt(first_line, TITLE_EXCERPT)


def _data(note: Note) -> dict:
    return {
        "title": note_title(note),
        "text": excerpt(note.body, EXCERPT, keep_lines=True),
    }


def live_notes(enterprise_id: int) -> list[Note]:
    return list(
        db.session.execute(
            select(Note)
            .where(Note.enterprise_id == enterprise_id, Note.deleted_at.is_(None))
            .order_by(Note.created_at.desc(), Note.id.desc())
        ).scalars()
    )


def add_note(enterprise: Enterprise, *, actor: User | None, body: str | None) -> Note:
    note = Note(
        enterprise_id=enterprise.id,
        body=_clean_body(body),
        created_by_id=actor.id if actor else None,
    )
    db.session.add(note)
    db.session.flush()
    timeline.record(
        enterprise.id,
        "note.added",
        actor=actor,
        subject_type="note",
        subject_id=note.id,
        data=_data(note),
    )
    db.session.flush()
    return note


def update_note(
    note: Note, *, actor: User | None, expected_version: int | str | None, body: str | None
) -> Note:
    check_version(note, expected_version)
    body = _clean_body(body)
    if body == note.body:
        return note
    old = note.body
    note.body = body
    db.session.flush()
    # The whole texts would bloat the file; the change shows excerpts of both.
    data = _data(note)
    data["changes"] = [
        {
            "field": "body",
            "old": excerpt(old, EXCERPT, keep_lines=True),
            "new": excerpt(body, EXCERPT, keep_lines=True),
        }
    ]
    timeline.record(
        note.enterprise_id,
        "note.updated",
        actor=actor,
        subject_type="note",
        subject_id=note.id,
        data=data,
    )
    db.session.flush()
    return note


def delete_note(
    note: Note, *, actor: User | None, expected_version: int | str | None = None
) -> None:
    check_version(note, expected_version)
    soft_delete(note, "note", actor=actor, data=_data(note))
