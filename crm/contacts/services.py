"""Contacts (联系人): the people staff meet at an enterprise.

A contact's phone, email and WeChat are personal data; the views only reach
these functions after ``crm.access`` has confirmed the user may see the
enterprise, so nothing here repeats that check.
"""

from __future__ import annotations

import re
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from crm import timeline
from crm.errors import ServiceError
from crm.extensions import db
from crm.models import Contact, Enterprise, User, user_unit
from crm.records import STALE_MESSAGE, check_version, soft_delete

FIELDS = ["name", "title", "phone", "email", "wechat", "is_main", "known_by", "notes"]

MAX_LENGTHS = {"name": 100, "title": 100, "phone": 40, "email": 254, "wechat": 100, "notes": 5000}

# Digits, spaces, +, -, parentheses: "+86 (831) 123-4567", "0831-1234567", "13800138000".
PHONE_RE = re.compile(r"^[0-9+\-() ]{5,40}$")
PHONE_MIN_DIGITS = 5


def is_plausible_phone(value: str) -> bool:
    return bool(PHONE_RE.match(value)) and sum(c.isdigit() for c in value) >= PHONE_MIN_DIGITS


def live_contacts(enterprise_id: int) -> list[Contact]:
    """The enterprise's contacts, main contact first (for the file page)."""
    return list(
        db.session.execute(
            select(Contact)
            .where(Contact.enterprise_id == enterprise_id, Contact.deleted_at.is_(None))
            .order_by(Contact.is_main.desc(), Contact.name, Contact.id)
        ).scalars()
    )


def known_by_candidates(enterprise: Enterprise) -> list[User]:
    """Active staff who may see the enterprise through their units, plus its responsible person.

    A user of one of the enterprise's units, or of a unit above one of them,
    sees the enterprise (crm.access); leaders and admins, who see everything,
    are left out unless they share a unit, so the list stays short.
    """
    ancestor_ids = {
        int(part) for unit in enterprise.units for part in unit.path.strip("/").split("/") if part
    }
    conditions = []
    if ancestor_ids:
        conditions.append(
            User.id.in_(select(user_unit.c.user_id).where(user_unit.c.unit_id.in_(ancestor_ids)))
        )
    if enterprise.responsible_id:
        conditions.append(User.id == enterprise.responsible_id)
    if not conditions:
        return []
    stmt = select(User).where(User.active.is_(True), or_(*conditions)).order_by(User.name, User.id)
    return list(db.session.execute(stmt).scalars())


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    """Strip text, turn blanks into NULL, and enforce the rules every entry path must obey."""
    cleaned: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in FIELDS:
            raise TypeError(f"unknown contact field {key!r}")
        if isinstance(value, str):
            value = value.strip() or None
        cleaned[key] = value

    if "name" in cleaned and not cleaned["name"]:
        raise ServiceError(_l("Enter the contact's name."), "name")
    for key, limit in MAX_LENGTHS.items():
        value = cleaned.get(key)
        if value and len(value) > limit:
            raise ServiceError(_l("At most %(n)d characters.", n=limit), key)
    if cleaned.get("phone") and not is_plausible_phone(cleaned["phone"]):
        raise ServiceError(
            _l("Enter a phone number: digits, spaces, +, - and parentheses only."), "phone"
        )
    if cleaned.get("email"):
        try:
            validate_email(cleaned["email"], check_deliverability=False)
        except EmailNotValidError as exc:
            raise ServiceError(_l("Enter a valid email address."), "email") from exc
    if "is_main" in cleaned:
        cleaned["is_main"] = bool(cleaned["is_main"])
    return cleaned


def _check_known_by(enterprise: Enterprise, known_by: User | None, current: User | None) -> None:
    if known_by is None or known_by == current:
        return
    if known_by not in known_by_candidates(enterprise):
        raise ServiceError(_l("Choose a staff member who works with this enterprise."), "known_by")


def _unset_other_main_contacts(contact: Contact, actor: User | None) -> None:
    """An enterprise has one main contact: the previous one stops being it, on the record."""
    others = db.session.execute(
        select(Contact).where(
            Contact.enterprise_id == contact.enterprise_id,
            Contact.is_main.is_(True),
            Contact.deleted_at.is_(None),
            Contact.id != contact.id,
        )
    ).scalars()
    for other in others:
        before = timeline.snapshot(other, ["is_main"])
        other.is_main = False
        timeline.record_change(
            other.enterprise_id,
            "contact.updated",
            actor=actor,
            subject_type="contact",
            subject_id=other.id,
            before=before,
            after=timeline.snapshot(other, ["is_main"]),
            data={"title": other.name},
        )


def create_contact(enterprise: Enterprise, *, actor: User | None, **fields) -> Contact:
    fields = _clean(fields)
    if not fields.get("name"):
        raise ServiceError(_l("Enter the contact's name."), "name")
    _check_known_by(enterprise, fields.get("known_by"), None)
    contact = Contact(enterprise_id=enterprise.id, enterprise=enterprise, **fields)
    db.session.add(contact)
    db.session.flush()
    if contact.is_main:
        _unset_other_main_contacts(contact, actor)
    timeline.record(
        enterprise.id,
        "contact.created",
        actor=actor,
        subject_type="contact",
        subject_id=contact.id,
        data={"title": contact.name, "text": contact.title, "is_main": contact.is_main},
    )
    db.session.flush()
    return contact


def update_contact(
    contact: Contact, *, actor: User | None, expected_version: int | str | None, **fields
) -> Contact:
    check_version(contact, expected_version)
    fields = _clean(fields)
    if "known_by" in fields:
        _check_known_by(contact.enterprise, fields["known_by"], contact.known_by)
    before = timeline.snapshot(contact, FIELDS)
    for key, value in fields.items():
        setattr(contact, key, value)
    db.session.flush()
    if contact.is_main and not before["is_main"]:
        _unset_other_main_contacts(contact, actor)
    timeline.record_change(
        contact.enterprise_id,
        "contact.updated",
        actor=actor,
        subject_type="contact",
        subject_id=contact.id,
        before=before,
        after=timeline.snapshot(contact, FIELDS),
        data={"title": contact.name},
    )
    db.session.flush()
    return contact


def delete_contact(
    contact: Contact, *, actor: User | None, expected_version: int | str | None = None
) -> None:
    check_version(contact, expected_version)
    soft_delete(contact, "contact", actor=actor, data={"title": contact.name})


__all__ = [
    "FIELDS",
    "STALE_MESSAGE",
    "check_version",
    "create_contact",
    "delete_contact",
    "known_by_candidates",
    "live_contacts",
    "update_contact",
]
