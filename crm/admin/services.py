"""Users and reference lists, as the administrator keeps them.

Like every service: validate, change, flush; the caller commits.
"""

from __future__ import annotations

import re
import secrets
import string

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.auth.services import check_password_strength, normalise_email, set_password
from crm.errors import DuplicateError, ServiceError
from crm.extensions import db
from crm.models import Chamber, Industry, OrgUnit, Role, User
from crm.records import check_version

LOCALES = ("zh_CN", "en")
# Deliberately loose: the address only has to look like one; delivery proves the rest.
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ROLES_WITHOUT_UNITS = (Role.ADMIN, Role.LEADER)


# -- passwords -------------------------------------------------------------------
def generate_password(length: int = 14) -> str:
    """A random password people can type: letters and digits, no look-alikes."""
    alphabet = "".join(ch for ch in string.ascii_letters + string.digits if ch not in "Il1O0o")
    return "".join(secrets.choice(alphabet) for _ in range(length))


# -- users -----------------------------------------------------------------------
def _check_email(email: str, exclude_id: int | None = None) -> str:
    email = normalise_email(email)
    if not _EMAIL_RE.match(email) or len(email) > 254:
        raise ServiceError(_l("Enter a valid email address."), "email")
    stmt = select(User.id).where(func.lower(User.email) == email)
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    existing = db.session.execute(stmt).scalar()
    if existing is not None:
        raise DuplicateError(
            _l("A user with this email address already exists."), "email", existing_id=existing
        )
    return email


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ServiceError(_l("The name is required."), "name")
    if len(name) > 100:
        raise ServiceError(_l("The name is too long."), "name")
    return name


def _check_role_units(role: Role, units: list[OrgUnit]) -> None:
    if role not in ROLES_WITHOUT_UNITS and not units:
        raise ServiceError(
            _l("Choose at least one unit: managers and staff work within units."), "units"
        )


def _check_locale(locale: str) -> str:
    if locale not in LOCALES:
        raise ServiceError(_l("Unknown language."), "locale")
    return locale


def create_user(
    *,
    actor: User | None,
    email: str,
    name: str,
    role: Role | str,
    units: list[OrgUnit] | None = None,
    locale: str = "zh_CN",
    password: str,
    phone: str | None = None,
) -> User:
    role = _coerce_role(role)
    units = list(units or [])
    email = _check_email(email)
    name = _check_name(name)
    _check_role_units(role, units)
    locale = _check_locale(locale)
    check_password_strength(password)
    user = User(email=email, name=name, role=role, locale=locale, phone=phone or None)
    user.units = units
    set_password(user, password)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(
    user: User,
    *,
    actor: User,
    expected_version: int | None,
    name: str,
    role: Role | str,
    units: list[OrgUnit],
    locale: str,
    active: bool,
    email: str | None = None,
    phone: str | None = None,
) -> User:
    check_version(user, expected_version)
    role = _coerce_role(role)
    name = _check_name(name)
    _check_role_units(role, units)
    locale = _check_locale(locale)
    if email is not None:
        email = _check_email(email, exclude_id=user.id)
    if user.id == actor.id and not active:
        raise ServiceError(_l("You cannot deactivate your own account."), "active")
    if user.id == actor.id and role != Role.ADMIN:
        raise ServiceError(_l("You cannot take the administrator role from yourself."), "role")
    if user.role == Role.ADMIN and user.active and (role != Role.ADMIN or not active):
        _check_not_last_admin(user)

    was_active = user.active
    user.name = name
    user.role = role
    user.units = list(units)
    user.locale = locale
    user.active = active
    if email is not None:
        user.email = email
    if phone is not None:
        user.phone = phone or None
    if was_active and not active:
        _end_sessions(user)
    db.session.flush()
    return user


def reset_password(user: User, *, actor: User, password: str) -> None:
    """Set a new password; every session of the user ends (new session token)."""
    set_password(user, password)
    db.session.flush()


def deactivate_user(user: User, *, actor: User) -> None:
    """Users are never deleted: their name stays on what they recorded."""
    if user.id == actor.id:
        raise ServiceError(_l("You cannot deactivate your own account."), "active")
    if not user.active:
        return
    if user.role == Role.ADMIN:
        _check_not_last_admin(user)
    user.active = False
    _end_sessions(user)
    db.session.flush()


def activate_user(user: User, *, actor: User) -> None:
    user.active = True
    db.session.flush()


def _end_sessions(user: User) -> None:
    user.session_token = secrets.token_hex(16)


def _check_not_last_admin(user: User) -> None:
    others = db.session.execute(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
    ).scalar_one()
    if others == 0:
        raise ServiceError(
            _l("This is the last active administrator: make someone else administrator first."),
            "role",
        )


def _coerce_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ServiceError(_l("Unknown role."), "role") from None


def user_query(*, role: str | None = None, unit_id: int | None = None, q: str | None = None):
    """Users for the admin list, filtered by role, unit and a name/email search."""
    stmt = select(User).order_by(User.active.desc(), User.name)
    if role:
        stmt = stmt.where(User.role == _coerce_role(role))
    if unit_id:
        from crm.models import user_unit

        stmt = stmt.where(
            User.id.in_(select(user_unit.c.user_id).where(user_unit.c.unit_id == unit_id))
        )
    if q and q.strip():
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(func.lower(User.name).like(like) | func.lower(User.email).like(like))
    return stmt


# -- reference lists (industries, chambers of commerce) ----------------------------
REFERENCE_MODELS: dict[str, type] = {"industries": Industry, "chambers": Chamber}


def _check_reference_name(model, name: str, exclude_id: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ServiceError(_l("The name is required."), "name")
    stmt = select(model.id).where(model.name == name)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    existing = db.session.execute(stmt).scalar()
    if existing is not None:
        raise DuplicateError(_l("This name is already on the list."), "name", existing_id=existing)
    return name


def create_reference(model, *, name: str, name_en: str | None = None, **extra):
    item = model(name=_check_reference_name(model, name), name_en=name_en or None, **extra)
    db.session.add(item)
    db.session.flush()
    return item


def update_reference(item, *, name: str, name_en: str | None, is_active: bool, **extra):
    item.name = _check_reference_name(type(item), name, exclude_id=item.id)
    item.name_en = name_en or None
    item.is_active = is_active
    for key, value in extra.items():
        setattr(item, key, value)
    db.session.flush()
    return item


def deactivate_reference(item) -> None:
    """Hidden from pickers; enterprises that carry it keep it."""
    item.is_active = False
    db.session.flush()


def create_industry(*, name: str, name_en: str | None = None, sort_order: int = 0) -> Industry:
    return create_reference(Industry, name=name, name_en=name_en, sort_order=sort_order)


def create_chamber(*, name: str, name_en: str | None = None) -> Chamber:
    return create_reference(Chamber, name=name, name_en=name_en)
