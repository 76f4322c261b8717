"""The application factory."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from config import CONFIGS

ROOT = Path(__file__).resolve().parent.parent


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    config_name = config_name or os.environ.get("CRM_CONFIG", "default")
    app = Flask(
        __name__,
        instance_path=os.environ.get("CRM_INSTANCE_PATH") or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
    )
    configure_settings(app, config_name, overrides or {})
    configure_proxies(app)
    configure_extensions(app)
    configure_celery(app)
    configure_blueprints(app)
    configure_templates(app)
    configure_security(app)
    configure_cli(app)
    return app


def configure_settings(app: Flask, config_name: str, overrides: dict) -> None:
    config_class = CONFIGS[config_name]
    app.config.from_object(config_class)
    app.config.update(config_class.from_environment(Path(app.instance_path)))
    app.config.update(overrides)


def configure_proxies(app: Flask) -> None:
    """Behind nginx, take the client's address and scheme from the proxy's headers.

    The login throttle counts failures per client address and links are built with
    the request's scheme: both are wrong without this when a proxy sits in front.
    """
    hops = app.config.get("TRUSTED_PROXIES", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )


def configure_extensions(app: Flask) -> None:
    from crm import i18n
    from crm.extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    login_manager.init_app(app)
    from crm.auth import session as auth_session

    auth_session.configure(login_manager)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from crm.db_sqlite import configure_sqlite

        with app.app_context():
            configure_sqlite(db.engine)


def configure_celery(app: Flask) -> None:
    from crm.celery_app import celery_init_app

    celery_init_app(app)


def configure_blueprints(app: Flask) -> None:
    from crm import routing

    routing.register(app)
    from crm.account.views import bp as account_bp
    from crm.admin.views import bp as admin_bp
    from crm.auth.views import bp as auth_bp
    from crm.contacts.views import bp as contacts_bp
    from crm.dashboard.views import bp as dashboard_bp
    from crm.documents.views import bp as documents_bp
    from crm.enterprises.views import bp as enterprises_bp
    from crm.home.views import bp as home_bp
    from crm.imports.views import bp as imports_bp
    from crm.issues.rules_views import bp as issue_rules_bp
    from crm.issues.views import bp as issues_bp
    from crm.notes.views import bp as notes_bp
    from crm.opportunities.views import bp as opportunities_bp
    from crm.policies.views import bp as policies_bp
    from crm.projects.views import bp as projects_bp
    from crm.reminders.views import bp as mail_admin_bp
    from crm.reports.views import bp as reports_bp
    from crm.supervision.views import bp as supervision_bp
    from crm.targets.views import bp as targets_bp
    from crm.visits.views import bp as visits_bp

    for bp in (
        home_bp,
        auth_bp,
        enterprises_bp,
        contacts_bp,
        visits_bp,
        issues_bp,
        notes_bp,
        documents_bp,
        projects_bp,
        policies_bp,
        dashboard_bp,
        reports_bp,
        opportunities_bp,
        admin_bp,
        targets_bp,
        mail_admin_bp,
        issue_rules_bp,
        account_bp,
        supervision_bp,
        imports_bp,
    ):
        app.register_blueprint(bp)
    from crm.api import init_api

    init_api(app)
    # The reminder plans register themselves: the web app and the worker both need them.
    import crm.reminders.plans  # noqa: F401


def configure_templates(app: Flask) -> None:
    from crm import formatting, navigation
    from crm.enterprises import timeline_display

    formatting.register(app)
    navigation.register(app)
    timeline_display.register(app)


def configure_security(app: Flask) -> None:
    from crm import security

    security.register(app)


def configure_cli(app: Flask) -> None:
    from crm.cli import crm_group

    app.cli.add_command(crm_group)
