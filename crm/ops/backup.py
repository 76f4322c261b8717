"""``crm backup`` / ``crm restore``: the database and the uploaded files in one archive.

The archive (a .tar.gz) holds:

- ``manifest.json``: when, which database kind and schema revision, the row count of
  every table, and the size and SHA-256 of every uploaded file;
- ``database.sqlite``: a snapshot taken with SQLite's online backup API
  (``sqlite3.Connection.backup``: consistent while the service keeps writing), or
  ``database.pgdump``: ``pg_dump -Fc`` of PostgreSQL, taken in the same snapshot as
  the row counts (``pg_export_snapshot`` / ``pg_dump --snapshot``);
- ``uploads/…``: the files under UPLOAD_FOLDER.

The database is read before the files: a file is written before its row commits, so
every document row in the snapshot finds its file in the archive.

Restore refuses a database that already holds rows unless forced, then checks every
table's row count and every file's digest against the manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from crm.extensions import db

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite"
PG_FILE = "database.pgdump"
UPLOADS = "uploads"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """What the administrator must know: printed without a traceback."""


# -- shared ---------------------------------------------------------------------------------
def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_names(conn: Connection) -> list[str]:
    return sorted(inspect(conn).get_table_names())


def row_counts(conn: Connection) -> dict[str, int]:
    return {
        name: conn.execute(text(f"SELECT count(*) FROM {_quote(name)}")).scalar_one()
        for name in _table_names(conn)
    }


def _revision(conn: Connection) -> list[str]:
    from alembic.runtime.migration import MigrationContext

    return sorted(MigrationContext.configure(conn).get_current_heads())


def _migration_revisions() -> tuple[set[str], list[str]]:
    """Every revision this code's migrations know, and their heads."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(current_app.extensions["migrate"].directory)
    return {script.revision for script in scripts.walk_revisions()}, sorted(scripts.get_heads())


def _check_revision(manifest: dict) -> bool:
    """Refuse a backup whose schema this code does not know; True when it is older
    than the code (the administrator then runs ``crm db upgrade``)."""
    known, heads = _migration_revisions()
    revision = manifest.get("revision") or []
    unknown = [r for r in revision if r not in known]
    if unknown:
        raise BackupError(
            f"the backup's schema revision {', '.join(unknown)} is newer than this code "
            f"(at {', '.join(heads)}): restore it with the code that made it"
        )
    return sorted(revision) != heads


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _upload_files(folder: Path) -> dict[str, dict]:
    """Every file under ``folder`` but the storage's unfinished ``.tmp-`` files."""
    if not folder.is_dir():
        return {}
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith(".tmp-"):
            files[path.relative_to(folder).as_posix()] = {
                "size": path.stat().st_size,
                "sha256": _sha256(path),
            }
    return files


def _engine() -> Engine:
    return db.engine


# -- PostgreSQL tools ------------------------------------------------------------------------
def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed (or not on PATH): install the PostgreSQL client tools "
            "of the server's major version (Debian: postgresql-client-NN)"
        )
    return path


def _major(version_text: str) -> int:
    match = re.search(r"(\d+)(?:\.\d+)?", version_text)
    if not match:
        raise BackupError(f"cannot read a version from {version_text!r}")
    return int(match.group(1))


def _tool_version(tool: str) -> str:
    """``pg_dump (PostgreSQL) 15.20 (Debian …)`` → ``15.20 (Debian …)``."""
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
    return out.split(")", 1)[-1].strip()


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """The libpq URL (no password on the command line: ps shows it) and the environment."""
    url = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(argv: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise BackupError(
            f"{Path(argv[0]).name} failed ({result.returncode}): {result.stderr.strip()}"
        )


# -- backup ---------------------------------------------------------------------------------
def _backup_sqlite(engine: Engine, workdir: Path) -> tuple[Path, dict[str, int], list[str]]:
    source_path = engine.url.database
    target = workdir / SQLITE_FILE
    source = sqlite3.connect(source_path)
    dest = sqlite3.connect(target)
    try:
        with dest:
            source.backup(dest)
    finally:
        dest.close()
        source.close()
    # Counted in the snapshot itself, so the manifest says exactly what the file holds.
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    snapshot = create_engine(f"sqlite:///{target}", poolclass=NullPool)
    try:
        with snapshot.connect() as conn:
            return target, row_counts(conn), _revision(conn)
    finally:
        snapshot.dispose()


def _backup_postgresql(engine: Engine, workdir: Path, versions: dict) -> tuple:
    pg_dump = _pg_tool("pg_dump")
    target = workdir / PG_FILE
    url, env = _libpq(engine)
    # One snapshot for the counts and for pg_dump: the manifest matches the dump exactly.
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        versions["server"] = conn.execute(text("SHOW server_version")).scalar_one()
        versions["pg_dump"] = _tool_version(pg_dump)
        server_major = _major(versions["server"])
        tool_major = _major(versions["pg_dump"])
        if tool_major < server_major:
            raise BackupError(
                f"pg_dump {tool_major} cannot dump a PostgreSQL {server_major} server: "
                f"install postgresql-client-{server_major}"
            )
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        counts = row_counts(conn)
        revision = _revision(conn)
        _run([pg_dump, "-Fc", "--no-owner", f"--snapshot={snapshot}", "-f", str(target), url], env)
        conn.rollback()
    return target, counts, revision


def create_backup(path: Path) -> dict:
    """Write the archive to ``path`` (atomically: a temporary name, then a rename)."""
    engine = _engine()
    dialect = engine.dialect.name
    upload_folder = Path(current_app.config["UPLOAD_FOLDER"])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="crm-backup-", dir=path.parent) as tmp:
        workdir = Path(tmp)
        versions: dict[str, str] = {}
        if dialect == "sqlite":
            versions["sqlite"] = sqlite3.sqlite_version
            db_file, counts, revision = _backup_sqlite(engine, workdir)
        elif dialect == "postgresql":
            db_file, counts, revision = _backup_postgresql(engine, workdir, versions)
        else:
            raise BackupError(f"no backup for a {dialect} database")
        uploads = _upload_files(upload_folder)
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "dialect": dialect,
            "database_file": db_file.name,
            "revision": revision,
            "versions": versions,
            "tables": counts,
            "uploads": uploads,
        }
        partial = workdir / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as tar:
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
            tar.add(db_file, arcname=db_file.name)
            for name in uploads:
                tar.add(upload_folder / name, arcname=f"{UPLOADS}/{name}")
        os.replace(partial, path)
    return manifest


# -- restore --------------------------------------------------------------------------------
def _read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        manifest = json.load(tar.extractfile(MANIFEST))
    except (KeyError, json.JSONDecodeError) as exc:
        raise BackupError(f"not a crm backup (no readable {MANIFEST}): {exc}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return manifest


def _rows_present(engine: Engine) -> dict[str, int]:
    """Tables holding rows (alembic's version row alone is a migrated, empty database)."""
    with engine.connect() as conn:
        counts = row_counts(conn)
    return {name: n for name, n in counts.items() if n and name != "alembic_version"}


def _extract(tar: tarfile.TarFile, name: str, target: Path) -> None:
    source = tar.extractfile(name)
    if source is None:
        raise BackupError(f"{name} is missing from the archive")
    with target.open("wb") as out:
        shutil.copyfileobj(source, out, CHUNK)


def _restore_sqlite(engine: Engine, dump: Path) -> None:
    target = engine.url.database
    db.session.remove()
    engine.dispose()
    source = sqlite3.connect(dump)
    dest = sqlite3.connect(target, timeout=30)
    try:
        # The online backup API page by page into the live file, not a file copy: a copy
        # would leave the target's -wal file behind to be replayed over the restored pages.
        source.backup(dest)
    finally:
        dest.close()
        source.close()


def _restore_postgresql(engine: Engine, dump: Path) -> None:
    pg_restore = _pg_tool("pg_restore")
    url, env = _libpq(engine)
    db.session.remove()
    engine.dispose()
    _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "-d",
            url,
            str(dump),
        ],
        env,
    )


def _safe_member(name: str) -> str:
    relative = PurePosixPath(name).relative_to(UPLOADS)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise BackupError(f"refusing the archive member {name!r}")
    return relative.as_posix()


def _restore_uploads(tar: tarfile.TarFile, folder: Path) -> None:
    for member in tar.getmembers():
        if not member.name.startswith(f"{UPLOADS}/") or not member.isfile():
            continue
        target = folder / _safe_member(member.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".tmp-restore-{target.name}")
        _extract(tar, member.name, partial)
        os.replace(partial, target)


def verify(manifest: dict, engine: Engine, upload_folder: Path) -> list[str]:
    """Differences between the manifest and what the database and folder hold now."""
    problems = []
    with engine.connect() as conn:
        counts = row_counts(conn)
    for table, expected in sorted(manifest["tables"].items()):
        found = counts.get(table)
        if found != expected:
            problems.append(f"table {table}: {found} rows, the backup had {expected}")
    for name, meta in sorted(manifest["uploads"].items()):
        path = upload_folder / name
        if not path.is_file():
            problems.append(f"file {name} is missing")
        elif _sha256(path) != meta["sha256"]:
            problems.append(f"file {name} differs from the backup")
    return problems


def restore_backup(path: Path, *, force: bool = False) -> dict:
    engine = _engine()
    upload_folder = Path(current_app.config["UPLOAD_FOLDER"])
    with (
        tarfile.open(path, "r:*") as tar,
        tempfile.TemporaryDirectory(prefix="crm-restore-") as tmp,
    ):
        manifest = _read_manifest(tar)
        if manifest["dialect"] != engine.dialect.name:
            raise BackupError(
                f"the backup is of a {manifest['dialect']} database, DATABASE_URL is "
                f"{engine.dialect.name}: restore into the same kind of database"
            )
        manifest["upgrade_needed"] = _check_revision(manifest)
        present = _rows_present(engine)
        if present and not force:
            raise BackupError(
                f"the database holds data ({sum(present.values())} rows in {len(present)} "
                "tables): restore refuses to overwrite it; add --force to replace it"
            )
        dump = Path(tmp) / manifest["database_file"]
        _extract(tar, manifest["database_file"], dump)
        if manifest["dialect"] == "sqlite":
            _restore_sqlite(engine, dump)
        else:
            _restore_postgresql(engine, dump)
        _restore_uploads(tar, upload_folder)
    problems = verify(manifest, engine, upload_folder)
    if problems:
        raise BackupError("restored, but it does not match the backup:\n  " + "\n  ".join(problems))
    return manifest
