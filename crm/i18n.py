"""Language and time zone: Chinese first, English selectable per user."""

from __future__ import annotations

from flask import current_app, request, session
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    if request:
        best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
        if best and best.startswith("en"):
            return "en"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]
