"""Configuration, read from the environment.

Every setting has an embedded default so that a fresh checkout runs with no
server at all: SQLite in the instance folder, a filesystem Celery broker and
mail written to an outbox folder. Production sets the environment variables.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_number(name: str, default, kind):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {value!r}") from None


def _env_int(name: str, default: int) -> int:
    return _env_number(name, default, int)


def _env_float(name: str, default: float) -> float:
    return _env_number(name, default, float)


def _is_redis(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0] in {"redis", "rediss"}


def _engine_options(database_url: str) -> dict:
    """Pool settings for a server database (SQLite has no server to pool connections to).

    Each gunicorn worker process and each Celery worker has its own pool, so the
    server sees up to processes × (DB_POOL_SIZE + DB_MAX_OVERFLOW) connections.
    """
    options: dict = {"pool_pre_ping": True}
    if database_url.startswith("sqlite"):
        return options
    options.update(
        pool_size=_env_int("DB_POOL_SIZE", 5),
        max_overflow=_env_int("DB_MAX_OVERFLOW", 5),
        pool_timeout=_env_float("DB_POOL_TIMEOUT", 30.0),
        # Below the usual idle timeouts of firewalls and PgBouncer.
        pool_recycle=_env_int("DB_POOL_RECYCLE", 1800),
    )
    if database_url.startswith("postgresql"):
        # An unreachable host fails in seconds instead of the kernel's two minutes.
        options["connect_args"] = {"connect_timeout": _env_int("DB_CONNECT_TIMEOUT", 10)}
    return options


def _beat_settings(broker_url: str) -> dict:
    """A beat that takes a lock in Redis (celery-redbeat), so a second beat only waits.

    With a Redis broker (or REDBEAT_REDIS_URL), beat keeps its schedule and a lock
    in Redis: the beat holding the lock schedules, any other waits and takes over
    BEAT_LOCK_TIMEOUT seconds after the holder died. BEAT_LOCK=off keeps Celery's
    file scheduler (every beat schedules; the reminder rows still send once). The
    embedded default (filesystem broker) has no Redis and keeps the file scheduler.
    """
    redis_url = os.environ.get("REDBEAT_REDIS_URL") or (
        broker_url if _is_redis(broker_url) else None
    )
    if redis_url is None and _is_redis(os.environ.get("REDIS_URL")):
        redis_url = os.environ["REDIS_URL"]
    # The lock is extended at every tick; a tick comes at least every loop interval.
    settings: dict = {"beat_max_loop_interval": _env_float("BEAT_MAX_LOOP_INTERVAL", 5.0)}
    if redis_url is None or not _env_bool("BEAT_LOCK", True):
        return settings
    settings.update(
        beat_scheduler="crm.beat_lock:LockedBeatScheduler",
        redbeat_redis_url=redis_url,
        redbeat_key_prefix=os.environ.get("REDBEAT_KEY_PREFIX", "crm:redbeat:"),
        redbeat_lock_timeout=_env_int("BEAT_LOCK_TIMEOUT", 30),
    )
    return settings


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept on disk.

    Keeping it in the instance folder means sessions survive restarts and every
    process of one installation (web, worker) shares the same key.
    """
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: when two processes start together, one writes and both read the same key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


class Config:
    """Defaults for a local, embedded installation."""

    TESTING = False
    DEBUG = False

    MAX_CONTENT_LENGTH = 25 * 1024 * 1024  # request size limit (uploads included)
    MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024
    UPLOAD_MAX_BYTES = 20 * 1024 * 1024
    UPLOAD_EXTENSIONS = [
        "pdf",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "txt",
        "csv",
        "jpg",
        "jpeg",
        "png",
        "gif",
        "webp",
        "heic",
        "zip",
        "ofd",
        "wps",
    ]

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")

    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead; long forms on a phone must not expire

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)

    # Login throttling: failures counted in the database, so every worker on every
    # machine sees the same counts.
    LOGIN_WINDOW = timedelta(minutes=15)
    LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    LOGIN_MAX_FAILURES_PER_ADDRESS = 20

    PAGE_SIZE = 50
    TIMELINE_PAGE_SIZE = 100

    MAIL_FROM = os.environ.get("MAIL_FROM", "crm@localhost")
    # Where links in mails point: the address people open the service at.
    EXTERNAL_URL = os.environ.get("EXTERNAL_URL", "http://127.0.0.1:5000")
    # Dated items (follow-ups, supervision) are due at this local hour of their day.
    REMINDER_HOUR = 9
    # Funds in place of last month are due on REMINDER_FUNDS_DAY (09:00 local); the
    # managers one level up hear of a missing report on REMINDER_FUNDS_ESCALATION_DAY.
    REMINDER_FUNDS_DAY = 5
    REMINDER_FUNDS_ESCALATION_DAY = 10

    @classmethod
    def from_environment(cls, instance_path: Path) -> dict:
        """The settings that depend on the environment and the instance folder."""
        instance_path.mkdir(parents=True, exist_ok=True)
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'crm.sqlite'}"
        if database_url.startswith("postgres://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
        elif database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]

        broker_url = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL")
        broker_options: dict = {}
        if not broker_url:
            # Embedded default: kombu's filesystem transport needs no server and
            # still lets separate worker and beat processes talk to each other.
            queue_dir = instance_path / "broker"
            for sub in ("out", "processed", "control"):
                (queue_dir / sub).mkdir(parents=True, exist_ok=True)
            broker_url = "filesystem://"
            broker_options = {
                "data_folder_in": str(queue_dir / "out"),
                "data_folder_out": str(queue_dir / "out"),
                "processed_folder": str(queue_dir / "processed"),
                "store_processed": False,
                # Exchange tables; kombu's default is ./control in the working directory.
                "control_folder": str(queue_dir / "control"),
            }

        engine_options = _engine_options(database_url)
        # Processes per worker; unset: Celery's default, one per CPU core.
        concurrency = _env_int("CELERY_WORKER_CONCURRENCY", 0)

        # Tests pass small values to make a lapsed claim and a retry visible in seconds.
        sweep_seconds = _env_float("REMINDER_SWEEP_SECONDS", 60.0)
        # A queued send lost with a dead worker or a restarted Redis goes again after
        # the lease: two minutes late at most. A send still waiting in the queue after
        # the lease is queued again, and the copy that comes second finds the row sent
        # and skips it; where the morning's queue takes longer than that to drain,
        # raise the lease.
        claim_lease_seconds = _env_float("REMINDER_CLAIM_LEASE_SECONDS", 120.0)

        return {
            "SECRET_KEY": _secret_key(instance_path),
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            # Reverse proxies in front of the app (nginx: 1): ProxyFix trusts this many
            # X-Forwarded-For/-Proto/-Host/-Port/-Prefix hops. 0 trusts none; never more
            # than really sit in front, or clients could forge their address.
            "TRUSTED_PROXIES": _env_int("TRUSTED_PROXIES", 0),
            "UPLOAD_FOLDER": os.environ.get("UPLOAD_FOLDER") or str(instance_path / "uploads"),
            "MAIL_OUTBOX": os.environ.get("MAIL_OUTBOX") or str(instance_path / "outbox"),
            "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
            "MAIL_PORT": _env_int("MAIL_PORT", 25),
            "MAIL_USE_TLS": _env_bool("MAIL_USE_TLS", False),
            "MAIL_USE_SSL": _env_bool("MAIL_USE_SSL", False),
            "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
            "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
            # A reminder claimed (queued) this long ago and not sent is claimed again.
            "REMINDER_CLAIM_LEASE_SECONDS": claim_lease_seconds,
            "CELERY": {
                "broker_url": broker_url,
                "broker_transport_options": broker_options,
                "task_ignore_result": True,
                "task_acks_late": True,
                "worker_prefetch_multiplier": 1,
                "timezone": "Asia/Shanghai",
                "beat_schedule_filename": str(instance_path / "celerybeat-schedule"),
                **_beat_settings(broker_url),
                **({"worker_concurrency": concurrency} if concurrency else {}),
                "beat_schedule": {
                    "heartbeat": {"task": "tasks.maintenance.heartbeat", "schedule": 60.0},
                    "reminders-sweep": {
                        "task": "tasks.reminders.sweep",
                        "schedule": sweep_seconds,
                    },
                    "reminders-plan": {
                        "task": "tasks.reminders.plan_periodic",
                        "schedule": 600.0,
                    },
                    "imports-recover": {"task": "tasks.imports.recover", "schedule": 300.0},
                },
            },
        }


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


class TestConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = False
    SERVER_NAME = "crm.test"
    EXTERNAL_URL = "https://crm.test"
    LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    LOGIN_MAX_FAILURES_PER_ADDRESS = 6


CONFIGS = {
    "default": Config,
    "development": Config,
    "production": ProductionConfig,
    "testing": TestConfig,
}
