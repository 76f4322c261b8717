"""Flask-Login wiring: load the user from the session, check its session token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import LoginManager

from crm.extensions import db
from crm.models import User


def load_user(session_id: str) -> User | None:
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_token != token:
        return None
    return user


def configure(login_manager: LoginManager) -> None:
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
