"""Shared fixtures.

Tests run on SQLite by default; set CRM_TEST_DATABASE_URL (e.g.
postgresql://postgres@127.0.0.1:5432/test) to run the same suite on PostgreSQL.
The schema is made once per session with ``create_all`` (migrations have their
own tests); after each test every table is emptied.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable

import pytest
from flask import g
from flask.testing import FlaskClient
from sqlalchemy import text

from crm import create_app
from crm.extensions import db as _db
from crm.models import Enterprise, OrgUnit, Role, UnitKind, User

PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("CRM_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in a fresh app context, as in production.

    Without this, requests would share the test's app context: ``g`` (and the
    signed-in user cached there) and the database session would leak from one
    request to the next. After each request the test's own session is expired,
    so what a test reads afterwards comes from the database.
    """

    def open(self, *args, **kwargs):
        ctx = self.application.app_context()
        ctx.push()
        try:
            return super().open(*args, **kwargs)
        finally:
            ctx.pop()
            _db.session.expire_all()


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from crm.i18n import compile_catalogs

    compile_catalogs()
    instance = tmp_path_factory.mktemp("instance")
    os.environ["CRM_INSTANCE_PATH"] = str(instance)
    os.environ["DATABASE_URL"] = database_url
    if os.environ.get("CRM_TEST_REDIS_URL"):
        os.environ["REDIS_URL"] = os.environ["CRM_TEST_REDIS_URL"]
    application = create_app(
        "testing",
        {
            "UPLOAD_FOLDER": str(instance / "uploads"),
            "MAIL_OUTBOX": str(instance / "outbox"),
        },
    )
    application.test_client_class = IsolatedClient
    with application.app_context():
        _db.drop_all()
        if _db.engine.dialect.name == "postgresql":
            with _db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        _db.create_all()
        yield application
        _db.session.remove()
        _db.drop_all()


@pytest.fixture(autouse=True)
def _clean_tables(app):
    # The tests share one app context (a server gives each request its own): a language
    # that services used outside a request (mail for a recipient) must not leak into the
    # next test, so Flask-Babel's per-context cache starts empty.
    g.pop("_flask_babel", None)
    yield
    g.pop("_flask_babel", None)
    _db.session.rollback()
    _db.session.remove()
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
        else:
            # org_unit.parent_id is ON DELETE RESTRICT, checked row by row by SQLite.
            conn.execute(text("UPDATE org_unit SET parent_id = NULL"))
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


_seq = itertools.count(1)


@pytest.fixture
def make_unit(db) -> Callable[..., OrgUnit]:
    from crm.admin.units import create_unit

    def _make(
        name: str | None = None, kind: UnitKind = UnitKind.COUNTY, parent: OrgUnit | None = None
    ):
        unit = create_unit(name=name or f"单位{next(_seq)}", kind=kind, parent=parent)
        db.session.commit()
        return unit

    return _make


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    from crm.auth.services import hash_password

    password_hash = hash_password(PASSWORD)  # hashed once: scrypt is slow on purpose

    def _make(role: Role = Role.STAFF, units: list[OrgUnit] | None = None, **fields) -> User:
        n = next(_seq)
        user = User(
            email=fields.pop("email", f"user{n}@example.test"),
            name=fields.pop("name", f"用户{n}"),
            password_hash=password_hash,
            role=role,
            locale=fields.pop("locale", "zh_CN"),
            **fields,
        )
        user.units = list(units or [])
        db.session.add(user)
        db.session.commit()
        return user

    return _make


@pytest.fixture
def credit_code() -> Callable[[], str]:
    from crm.enterprises.credit_code import complete

    def _next() -> str:
        return complete(f"91511500{next(_seq):09d}")

    return _next


@pytest.fixture
def make_enterprise(db, credit_code) -> Callable[..., Enterprise]:
    from crm.enterprises.services import create_enterprise

    def _make(
        name: str | None = None,
        units: list[OrgUnit] | None = None,
        actor: User | None = None,
        **fields,
    ):
        enterprise = create_enterprise(
            actor=actor,
            name=name or f"测试企业{next(_seq)}有限公司",
            credit_code=fields.pop("credit_code", None) or credit_code(),
            units=list(units or []),
            **fields,
        )
        db.session.commit()
        return enterprise

    return _make


@pytest.fixture
def login(client):
    def _login(user: User, password: str = PASSWORD):
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return _login


# -- shared by several feature test modules (added during the duplication clean-up) --
@pytest.fixture
def switch(client, login):
    """Sign the one test client out and in again as ``user``."""

    def _as(user: User):
        client.post("/logout")
        return login(user)

    return _as


@pytest.fixture
def client_for(app):
    """A separate, signed-in test client per user (for two people editing at once)."""

    def _client(user: User):
        client = app.test_client()
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302
        return client

    return _client


@pytest.fixture
def smtp(app):
    """A real SMTP server on loopback (tests/smtp_sink.py) that the app sends to."""
    from tests.smtp_sink import Server

    server = Server()
    server.start()
    saved = {k: app.config[k] for k in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    yield server
    app.config.update(saved)
    server.stop()


class ApiClient:
    """A test client that calls the JSON API with a personal token, as a script would."""

    def __init__(self, client: FlaskClient, secret: str):
        self.client = client
        self.secret = secret

    def open(self, method: str, path: str, *, headers: dict | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {self.secret}", **(headers or {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.open("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.open("PATCH", path, **kwargs)

    def put(self, path, **kwargs):
        return self.open("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.open("DELETE", path, **kwargs)


@pytest.fixture
def api_for(app):
    """``api_for(user)``: an ApiClient holding a fresh token of ``user``."""
    from crm.api.tokens import create_token

    def _client(user: User) -> ApiClient:
        _token, secret = create_token(user, "tests")
        _db.session.commit()
        return ApiClient(app.test_client(), secret)

    return _client
