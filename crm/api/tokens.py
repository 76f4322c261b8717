"""Making, finding and revoking personal API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from crm.errors import ServiceError
from crm.extensions import db
from crm.models import ApiToken, User
from crm.models.base import utcnow

SECRET_PREFIX = "crm_"
PREFIX_LENGTH = 12  # "crm_" and 8 characters of the secret: enough to tell tokens apart
# Writing last_used_at on every call would make every read a write; once a minute tells enough.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    # The secret has 256 random bits, so a plain SHA-256 (no salt, no stretching)
    # cannot be guessed backwards, and lookups stay one indexed equality.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``; the secret is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ServiceError(_l("Give the token a name."), "name")
    if len(name) > 100:
        raise ServiceError(_l("At most %(max)d characters.", max=100), "name")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name, prefix=secret[:PREFIX_LENGTH], secret_hash=hash_secret(secret)
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


def revoke_token(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()


def tokens_of(user: User) -> list[ApiToken]:
    return list(
        db.session.execute(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        ).scalars()
    )


def authenticate(secret: str) -> User | None:
    """The active user behind an unrevoked token, else None."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    token = db.session.execute(
        select(ApiToken).where(ApiToken.secret_hash == hash_secret(secret))
    ).scalar_one_or_none()
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        # Its own statement and commit, so the request's own transaction (and a
        # rollback of it) has nothing to do with it.
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        db.session.commit()
    return token.user
