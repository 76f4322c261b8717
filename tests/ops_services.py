"""Real services and the ``crm`` console for the operations tests (check, backup, beat lock).

The console runs as its own process, as an administrator runs it, with exactly the
environment a test gives it. Databases are real: a sibling of CRM_TEST_DATABASE_URL
on PostgreSQL (``<name>_<suffix>``, made and dropped here), else SQLite files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.redis_server import REDIS_SERVER, RedisServer

ROOT = Path(__file__).resolve().parent.parent

# Settings a test must not inherit from the shell or from the ``app`` fixture.
_CLEARED = (
    "CRM_CONFIG",
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "REDBEAT_REDIS_URL",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_OUTBOX",
    "EXTERNAL_URL",
    "UPLOAD_FOLDER",
    "TRUSTED_PROXIES",
    "CRM_INSTANCE_PATH",
)


def crm(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``crm ARGS`` in a process of its own with ``env`` over a cleared environment."""
    full = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    full.update(env)
    full.setdefault("LANG", "C.UTF-8")
    return subprocess.run(
        [sys.executable, "-c", "from crm.cli import main; main()", *args],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def postgres_test_url() -> str | None:
    url = os.environ.get("CRM_TEST_DATABASE_URL", "")
    return url if url.startswith("postgres") else None


def _admin_engine(url: str):
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin = make_url(url).set(drivername="postgresql+psycopg", database="postgres")
    return create_engine(admin, isolation_level="AUTOCOMMIT")


@contextmanager
def fresh_database(folder: Path, suffix: str):
    """The URL of a new, empty database (no schema); dropped afterwards."""
    base = postgres_test_url()
    if base is None:
        folder.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{folder / f'{suffix}.sqlite'}"
        return
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"{make_url(base).database}_{suffix}"
    engine = _admin_engine(base)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@contextmanager
def redis_for_tests(folder: Path):
    """CRM_TEST_REDIS_URL, else a private redis-server; skipped without either (failed on CI)."""
    if url := os.environ.get("CRM_TEST_REDIS_URL"):
        yield url
        return
    if not os.path.exists(REDIS_SERVER):
        if os.environ.get("CI"):
            pytest.fail("CI needs Redis: set CRM_TEST_REDIS_URL or install redis-server")
        pytest.skip("no Redis: set CRM_TEST_REDIS_URL or install redis-server")
    server = RedisServer(folder)
    server.start()
    try:
        yield server.url(0)
    finally:
        server.stop()
