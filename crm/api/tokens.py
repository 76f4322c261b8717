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
from crm.routing import MAX_ID

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


def own_token(user: User, token_id: int) -> ApiToken | None:
    """One of ``user``'s tokens; another user's is None, as if it did not exist."""
    return db.session.execute(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    ).scalar_one_or_none()


class AmbiguousToken(LookupError):
    pass


def find_token(ref: str) -> ApiToken | None:
    """A token by its id or by its prefix (or the start of it), for the console.

    A prefix needs four characters after "crm_", so that a slip of the keyboard
    does not revoke someone's token; AmbiguousToken when it names several.
    """
    ref = (ref or "").strip()
    if ref.isdigit():
        return db.session.get(ApiToken, int(ref)) if int(ref) <= MAX_ID else None
    if not ref.startswith(SECRET_PREFIX) or not len(SECRET_PREFIX) + 4 <= len(ref) <= PREFIX_LENGTH:
        return None
    found = list(
        db.session.execute(
            select(ApiToken).where(ApiToken.prefix.startswith(ref, autoescape=True)).limit(2)
        ).scalars()
    )
    if len(found) > 1:
        raise AmbiguousToken(ref)
    return found[0] if found else None


def all_tokens() -> list[ApiToken]:
    """Everyone's tokens, newest first (the console's list)."""
    return list(db.session.execute(select(ApiToken).order_by(ApiToken.id.desc())).scalars())
