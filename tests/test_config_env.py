"""Production settings come from environment variables only (config.py, create_app)."""

from __future__ import annotations

import pytest
from flask import request

from config import Config
from crm import create_app


@pytest.fixture(autouse=True)
def _keep_default_celery_app():
    """create_app makes its Celery app the default; the suite's app must stay it."""
    from celery import current_app

    suite_celery = current_app._get_current_object()
    yield
    suite_celery.set_default()


def _who_am_i_app(monkeypatch, trusted: str | None):
    if trusted is None:
        monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    else:
        monkeypatch.setenv("TRUSTED_PROXIES", trusted)
    app = create_app("testing")

    @app.get("/_who")
    def who():
        return f"{request.remote_addr} {request.scheme}"

    return app


PROXIED = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}


def test_behind_one_trusted_proxy_the_client_address_and_scheme_come_from_its_headers(
    monkeypatch,
):
    app = _who_am_i_app(monkeypatch, "1")
    client = app.test_client()
    answer = client.get("/_who", headers=PROXIED, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert answer.get_data(as_text=True) == "198.51.100.7 https"


def test_without_trusted_proxies_forwarded_headers_are_ignored(monkeypatch):
    app = _who_am_i_app(monkeypatch, None)
    client = app.test_client()
    answer = client.get("/_who", headers=PROXIED, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert answer.get_data(as_text=True) == "127.0.0.1 http"


def test_a_forged_hop_in_front_of_the_proxy_is_not_believed(monkeypatch):
    """nginx appends the address it saw; with one trusted hop only that one counts."""
    app = _who_am_i_app(monkeypatch, "1")
    client = app.test_client()
    headers = {"X-Forwarded-For": "10.0.0.1, 203.0.113.5", "X-Forwarded-Proto": "https"}
    answer = client.get("/_who", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert answer.get_data(as_text=True) == "203.0.113.5 https"


def test_pool_sizes_for_a_server_database_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://crm@db.example.test/crm")
    monkeypatch.setenv("DB_POOL_SIZE", "12")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "3")
    settings = Config.from_environment(tmp_path)
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    options = settings["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_size"] == 12 and options["max_overflow"] == 3
    assert options["pool_pre_ping"] is True
    assert options["connect_args"] == {"connect_timeout": 10}


def test_sqlite_gets_no_pool_settings(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DB_POOL_SIZE", "12")
    options = Config.from_environment(tmp_path)["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options == {"pool_pre_ping": True}


def test_a_bad_number_names_its_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("TRUSTED_PROXIES", "one")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES must be a number"):
        Config.from_environment(tmp_path)


def test_worker_concurrency_only_when_set(monkeypatch, tmp_path):
    monkeypatch.delenv("CELERY_WORKER_CONCURRENCY", raising=False)
    assert "worker_concurrency" not in Config.from_environment(tmp_path)["CELERY"]
    monkeypatch.setenv("CELERY_WORKER_CONCURRENCY", "3")
    assert Config.from_environment(tmp_path)["CELERY"]["worker_concurrency"] == 3
