"""Passwords, sign-in and its throttling."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from crm.errors import ServiceError
from crm.extensions import db
from crm.models import LoginAttempt, User
from crm.models.base import utcnow

# A hash to compare against when the account does not exist, so that a wrong
# e-mail address takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")

MIN_PASSWORD_LENGTH = 10


class LoginThrottled(ServiceError):
    pass


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(
            _l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
            "password",
        )


def set_password(user: User, password: str) -> None:
    check_password_strength(password)
    user.password_hash = hash_password(password)
    # Ends every other session of this user.
    user.session_token = secrets.token_hex(16)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _recent_failures(column, value: str, window: timedelta) -> int:
    since = utcnow() - window
    return db.session.execute(
        select(func.count())
        .select_from(LoginAttempt)
        .where(column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since)
    ).scalar_one()


def authenticate(email: str, password: str, address: str, config) -> User | None:
    """The user if the credentials are right; records the attempt either way.

    Raises LoginThrottled when the account or the address has failed too often
    within the window; a throttled attempt is not even checked.
    """
    email = normalise_email(email)
    address = (address or "unknown")[:64]
    window = config["LOGIN_WINDOW"]
    if (
        _recent_failures(LoginAttempt.email, email, window)
        >= config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
        or _recent_failures(LoginAttempt.address, address, window)
        >= config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    ):
        raise LoginThrottled(
            _l("Too many failed sign-in attempts. Please wait 15 minutes and try again.")
        )

    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    ok = ok and user is not None and user.active
    db.session.add(LoginAttempt(email=email, address=address, succeeded=bool(ok), at=utcnow()))
    if ok:
        user.last_login_at = utcnow()
        return user
    return None
