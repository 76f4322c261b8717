"""``crm check``: is this installation ready to serve? One result per part.

Each check connects to the real thing (database, broker, SMTP server) or writes
to the real folder, with short timeouts, and names the setting to fix when it
fails. Nothing is changed: test files are removed, no mail is sent.
"""

from __future__ import annotations

import os
import smtplib
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from crm import mail

TIMEOUT = 5  # seconds for each connection attempt
MIN_SECRET_KEY_LENGTH = 32


@dataclass(frozen=True)
class Result:
    part: str
    status: str  # "ok", "warn" (reported, not a failure) or "FAIL"
    message: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.part}: {self.message}"


def ok(part: str, message: str) -> Result:
    return Result(part, "ok", message)


def warn(part: str, message: str) -> Result:
    return Result(part, "warn", message)


def fail(part: str, message: str) -> Result:
    return Result(part, "FAIL", message)


def run_checks(app: Flask) -> list[Result]:
    """Every check in order; one that raises unexpectedly is a failure of its part."""
    results: list[Result] = []
    for part, check in CHECKS:
        try:
            results.extend(check(app))
        except Exception as exc:  # a check must report, never crash the others
            results.append(fail(part, f"{type(exc).__name__}: {_first_line(exc)}"))
    return results


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable URL>"


# -- configuration -------------------------------------------------------------------------
def check_config(app: Flask) -> Iterator[Result]:
    name = os.environ.get("CRM_CONFIG", "default")
    if name != "production":
        yield ok("config", f"CRM_CONFIG={name}: embedded defaults, not for production")
        return
    problems = 0
    key = os.environ.get("SECRET_KEY", "")
    if not key:
        problems += 1
        yield fail(
            "config",
            "SECRET_KEY is not set in the environment (every process and host must share one)",
        )
    elif len(key) < MIN_SECRET_KEY_LENGTH:
        problems += 1
        yield fail("config", f"SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters")
    external = app.config.get("EXTERNAL_URL", "")
    if not external.startswith("https://"):
        problems += 1
        yield fail(
            "config",
            f"EXTERNAL_URL={external} is not https:// (production cookies are sent over https only)",
        )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        yield warn("config", "DATABASE_URL is not set: SQLite serves one machine only")
    if app.config["CELERY"]["broker_url"].startswith("filesystem"):
        yield warn("config", "REDIS_URL is not set: the filesystem broker serves one machine only")
    if not app.config.get("TRUSTED_PROXIES"):
        yield warn(
            "config",
            "TRUSTED_PROXIES=0: behind nginx set it to 1, or client addresses are the proxy's",
        )
    if not problems:
        yield ok("config", "CRM_CONFIG=production, SECRET_KEY set, EXTERNAL_URL is https")


# -- database ------------------------------------------------------------------------------
def check_database(app: Flask) -> Iterator[Result]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    shown = _safe_url(url)
    connect_args = {"connect_timeout": TIMEOUT} if url.startswith("postgresql") else {}
    # A separate engine: its own short timeout, and no pool kept afterwards.
    engine = create_engine(url, connect_args=connect_args, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:
        yield fail("database", f"cannot connect to DATABASE_URL={shown}: {_first_line(exc)}")
        return
    finally:
        engine.dispose()
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        heads = set(ScriptDirectory.from_config(config).get_heads())
    if current != heads:
        have = ", ".join(sorted(current)) or "no schema"
        yield fail(
            "database",
            f"{shown} is at {have}, migrations head is {', '.join(sorted(heads))}: "
            "run 'crm db upgrade'",
        )
        return
    yield ok("database", f"{shown} reachable, migrations at head ({', '.join(sorted(heads))})")


# -- broker --------------------------------------------------------------------------------
def _redis_ping(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
    try:
        client.ping()
    finally:
        client.close()


def check_broker(app: Flask) -> Iterator[Result]:
    celery_conf = app.config["CELERY"]
    url = celery_conf["broker_url"]
    setting = "CELERY_BROKER_URL" if os.environ.get("CELERY_BROKER_URL") else "REDIS_URL"
    if url.startswith("filesystem"):
        folder = celery_conf["broker_transport_options"]["data_folder_in"]
        problem = _unwritable(Path(folder))
        if problem:
            yield fail("broker", f"filesystem broker folder {folder} {problem}")
        else:
            yield ok("broker", f"filesystem broker in {folder} (embedded default, no Redis)")
        return
    shown = _safe_url(url)
    try:
        if url.split(":", 1)[0] in {"redis", "rediss"}:
            _redis_ping(url)
        else:
            with app.extensions["celery"].connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=TIMEOUT)
    except Exception as exc:
        yield fail("broker", f"cannot reach {setting}={shown}: {_first_line(exc)}")
        return
    yield ok("broker", f"{shown} reachable")
    lock_url = celery_conf.get("redbeat_redis_url")
    if lock_url and lock_url != url:
        try:
            _redis_ping(lock_url)
        except Exception as exc:
            yield fail("broker", f"cannot reach REDBEAT_REDIS_URL={_safe_url(lock_url)}: {exc}")
            return
    if lock_url:
        yield ok("broker", f"beat lock in Redis (key prefix {celery_conf['redbeat_key_prefix']})")
    else:
        yield ok("broker", "beat without lock: run a single beat")


# -- mail ----------------------------------------------------------------------------------
def check_mail(app: Flask) -> Iterator[Result]:
    config = app.config
    server, port = config.get("MAIL_SERVER"), config.get("MAIL_PORT")
    if not server:
        outbox = Path(config["MAIL_OUTBOX"])
        problem = _unwritable(outbox)
        if problem:
            yield fail(
                "mail", f"MAIL_SERVER is empty and the outbox MAIL_OUTBOX={outbox} {problem}"
            )
        else:
            yield ok("mail", f"MAIL_SERVER is empty: mail is written to {outbox}")
        return
    where = f"MAIL_SERVER={server} MAIL_PORT={port}"
    try:
        # The same connection sending makes (TLS mode, login), then a NOOP.
        smtp = mail.connect(config, timeout=TIMEOUT)
        try:
            code, answer = smtp.noop()
        finally:
            mail.close_quietly(smtp)
        if code != 250:
            raise smtplib.SMTPResponseException(code, answer)
    except smtplib.SMTPAuthenticationError as exc:
        yield fail("mail", f"{where}: MAIL_USERNAME/MAIL_PASSWORD refused ({exc.smtp_code})")
        return
    except (OSError, smtplib.SMTPException) as exc:
        yield fail("mail", f"cannot talk SMTP to {where}: {_first_line(exc)}")
        return
    yield ok("mail", f"{where} answers (EHLO, NOOP)")


# -- uploads -------------------------------------------------------------------------------
def _unwritable(folder: Path) -> str | None:
    """None when a file can be created in ``folder`` (made if missing), else why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".check-{uuid.uuid4().hex}"):
            pass
    except OSError as exc:
        return f"is not writable: {exc.strerror or exc}"
    return None


def check_uploads(app: Flask) -> Iterator[Result]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    problem = _unwritable(folder)
    if problem:
        yield fail("uploads", f"UPLOAD_FOLDER={folder} {problem}")
    else:
        yield ok("uploads", f"UPLOAD_FOLDER={folder} writable")


CHECKS: list[tuple[str, Callable[[Flask], Iterator[Result]]]] = [
    ("config", check_config),
    ("database", check_database),
    ("broker", check_broker),
    ("mail", check_mail),
    ("uploads", check_uploads),
]
