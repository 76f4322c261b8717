"""The main menu, by role; an entry appears once its endpoint exists."""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from crm.access import Action, current_access

MENU = [
    ("home.index", _l("Home"), None),
    ("enterprises.index", _l("Enterprises"), None),
    ("visits.follow_ups", _l("Follow-ups"), None),
    ("issues.index", _l("Enterprise issues"), None),
    ("issues.figures", _l("Issue figures"), None),
    ("supervision.index", _l("Supervision"), None),
    ("projects.index", _l("Projects"), None),
    ("dashboard.city", _l("Dashboard"), None),
    ("reports.index", _l("Monthly ranking"), None),
    ("imports.index", _l("Import"), "importer"),
    ("admin.index", _l("Administration"), "admin"),
    ("targets.index", _l("Targets and rules"), "admin"),
    ("issue_rules.index", _l("Issue deadlines"), "admin"),
]


def nav_items() -> list[tuple[str, str]]:
    access = current_access()
    items = []
    for endpoint, text, needs in MENU:
        if endpoint not in current_app.view_functions:
            continue
        if needs == "admin" and not access.is_admin:
            continue
        # Imports: admins and managers (Access.import_job_or_abort).
        if needs == "importer" and not access.role_allows(Action.MANAGE):
            continue
        items.append((endpoint, text))
    return items


def register(app: Flask) -> None:
    app.jinja_env.globals["nav_items"] = nav_items
