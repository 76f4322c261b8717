"""What the benchmark scripts share: where their databases live, and percentiles."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pg_database(name: str, *, fresh: bool = False) -> str:
    """The URL of PostgreSQL database ``name``, made if missing (dropped first if ``fresh``)."""
    admin = make_url(PG_ADMIN_URL)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if fresh:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if not exists:
            conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


def sqlite_database(file_name: str, *, fresh: bool = False) -> str:
    """The URL of SQLite file ``bench/out/<file_name>`` (removed first if ``fresh``)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / file_name
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def database_urls(
    only: str | None, *, sqlite: str, postgres: str, fresh: bool = False
) -> dict[str, str]:
    """backend → URL for the backends asked for (``only``: "sqlite", "postgresql" or both)."""
    urls = {}
    if only in (None, "sqlite"):
        urls["sqlite"] = sqlite_database(sqlite, fresh=fresh)
    if only in (None, "postgresql"):
        urls["postgres"] = pg_database(postgres, fresh=fresh)
    return urls


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
