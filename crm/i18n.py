"""Language and time zone: Chinese first, English selectable per user."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request, session
from flask_login import current_user


def select_locale() -> str:
    """The user's language; outside a request (tasks, console) ``g.locale`` or the default.

    Mail and other work done on behalf of a recipient sets ``g.locale`` (with
    ``flask_babel.force_locale``) to write in the recipient's language.
    """
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return g.get("locale") or current_app.config["BABEL_DEFAULT_LOCALE"]
    # A script says which language it wants its error messages in on each call.
    api_asks = request.path.startswith("/api/") and request.headers.get("Accept-Language")
    if api_asks and (best := _from_header(languages)):
        return best
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return _from_header(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def _from_header(languages) -> str | None:
    """The configured language the browser's Accept-Language prefers, if any.

    Each language answers to its own tag ("zh-CN") and to its bare language
    ("zh"), the first configured one winning a bare tag they share.
    """
    tags: dict[str, str] = {}
    for language in languages:
        tag = language.replace("_", "-")
        tags.setdefault(tag, language)
        tags.setdefault(tag.split("-")[0], language)
    best = request.accept_languages.best_match(list(tags))
    return tags[best] if best else None


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def compile_catalogs(directory: str | None = None) -> list[str]:
    """Compile every messages.po below crm/translations into messages.mo when it is newer.

    Compiled catalogs are build output (not committed): `dev.py`, `crm serve`
    and the test suite call this before they start.
    """
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = Path(directory) if directory else Path(__file__).resolve().parent / "translations"
    compiled = []
    for po_path in root.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh)
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        tmp.replace(mo_path)
        compiled.append(str(mo_path))
    return compiled
