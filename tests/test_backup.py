"""``crm backup`` and ``crm restore`` on a real database: SQLite, or PostgreSQL when
CRM_TEST_DATABASE_URL is one (pg_dump / pg_restore of the machine, which must match the
server's major version or be newer).

The demo data (dozens of tables) and uploaded documents are backed up from the test
database, restored into a fresh database and upload folder by the console in its own
process, and every row of every table and every file is compared.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from tests.ops_services import crm, fresh_database, postgres_test_url

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _tools():
    if postgres_test_url() and not shutil.which("pg_dump"):
        pytest.fail("PostgreSQL backups need pg_dump and pg_restore on PATH")


@pytest.fixture
def uploads(app, tmp_path):
    """The source installation's upload folder, empty for this test."""
    folder = tmp_path / "uploads"
    saved = app.config["UPLOAD_FOLDER"]
    app.config["UPLOAD_FOLDER"] = str(folder)
    yield folder
    app.config["UPLOAD_FOLDER"] = saved


@pytest.fixture
def filled(app, db, uploads):
    """Demo data plus two uploaded documents, committed."""
    from crm.demo import load_demo
    from crm.documents.services import attach_document
    from crm.documents.storage import get_storage
    from crm.models import Enterprise

    with force_locale("en"):
        load_demo("demo password 2023")
    db.session.commit()
    enterprises = db.session.query(Enterprise).order_by(Enterprise.id).limit(2).all()
    with app.test_request_context():
        for n, enterprise in enumerate(enterprises):
            attach_document(
                enterprise,
                actor=None,
                stream=io.BytesIO(PDF + f"% document {n}\n".encode()),
                filename=f"合同{n}.pdf",
                kind="contract",
                storage=get_storage(),
                allowed_extensions=app.config["UPLOAD_EXTENSIONS"],
                max_bytes=app.config["UPLOAD_MAX_BYTES"],
            )
        db.session.commit()
    return uploads


def source_env(app, database_url, tmp_path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
        "CRM_INSTANCE_PATH": str(tmp_path / "source-instance"),
    }


def target_env(url: str, tmp_path) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "UPLOAD_FOLDER": str(tmp_path / "restored-uploads"),
        "CRM_INSTANCE_PATH": str(tmp_path / "target-instance"),
    }


def table_contents(engine) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    with engine.connect() as conn:
        return {
            name: sorted(
                (tuple(row) for row in conn.execute(text(f'SELECT * FROM "{name}"'))), key=repr
            )
            for name in inspect(conn).get_table_names()
        }


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _url_for_engine(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def test_backup_and_restore_into_a_fresh_instance_keeps_every_record(
    app, db, database_url, filled, tmp_path
):
    archive = tmp_path / "backups" / "crm.tar.gz"
    done = crm("backup", str(archive), env=source_env(app, database_url, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr

    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    dialect = db.engine.dialect.name
    assert manifest["dialect"] == dialect
    assert ("database.pgdump" if dialect == "postgresql" else "database.sqlite") in names
    assert len(manifest["uploads"]) == 2
    if dialect == "postgresql":  # pg_dump refuses a server newer than itself
        versions = manifest["versions"]
        assert int(versions["pg_dump"].split(".")[0]) >= int(versions["server"].split(".")[0])
    source = table_contents(db.engine)
    assert manifest["tables"] == {name: len(rows) for name, rows in source.items()}
    assert sum(1 for rows in source.values() if rows) >= 20  # demo data spans many tables

    with fresh_database(tmp_path / "target-db", "restore") as url:
        target = target_env(url, tmp_path)
        done = crm("restore", str(archive), env=target)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "verified" in done.stdout

        engine = create_engine(_url_for_engine(url), poolclass=NullPool)
        try:
            restored = table_contents(engine)
        finally:
            engine.dispose()
        assert restored.keys() == source.keys()
        for name in source:
            assert restored[name] == source[name], name
        assert files_under(Path(target["UPLOAD_FOLDER"])) == files_under(filled)

        # The restored database now holds data: a second restore must be forced.
        again = crm("restore", str(archive), env=target)
        assert again.returncode == 1
        assert "holds data" in again.stderr and "--force" in again.stderr
        forced = crm("restore", "--force", str(archive), env=target)
        assert forced.returncode == 0, forced.stdout + forced.stderr


def _tampered(archive: Path, out: Path, change) -> Path:
    """A copy of ``archive`` whose manifest went through ``change(manifest)``."""
    with tarfile.open(archive) as tar, tarfile.open(out, "w:gz") as copy:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    return out


def test_restore_fails_when_the_result_does_not_match_the_manifest(
    app, db, database_url, filled, tmp_path
):
    archive = tmp_path / "crm.tar.gz"
    done = crm("backup", str(archive), env=source_env(app, database_url, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr

    def one_more_enterprise(manifest):
        manifest["tables"]["enterprise"] += 1

    def from_newer_code(manifest):
        manifest["revision"] = ["9999"]

    bad = _tampered(archive, tmp_path / "bad.tar.gz", one_more_enterprise)
    newer = _tampered(archive, tmp_path / "newer.tar.gz", from_newer_code)
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with fresh_database(tmp_path / "target-db", "restore_bad") as url:
        done = crm("restore", str(bad), env=target_env(url, tmp_path))
        assert done.returncode == 1
        assert "does not match the backup" in done.stderr and "table enterprise" in done.stderr
        done = crm("restore", "--force", str(newer), env=target_env(url, tmp_path))
        assert done.returncode == 1 and "9999 is newer than this code" in done.stderr
        done = crm("restore", "--force", str(broken), env=target_env(url, tmp_path))
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert "not a readable crm backup" in done.stderr, done.stderr


def test_restore_refuses_another_kind_of_database(app, db, database_url, filled, tmp_path):
    if not postgres_test_url():
        pytest.skip("needs PostgreSQL as the other kind (CRM_TEST_DATABASE_URL)")
    archive = tmp_path / "crm.tar.gz"
    assert crm("backup", str(archive), env=source_env(app, database_url, tmp_path)).returncode == 0
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    done = crm("restore", str(archive), env=target_env(other, tmp_path))
    assert done.returncode == 1
    assert "same kind of database" in done.stderr


def test_backup_without_pg_dump_says_what_to_install(app, db, database_url, tmp_path):
    if not postgres_test_url():
        pytest.skip("pg_dump is only needed for PostgreSQL (CRM_TEST_DATABASE_URL)")
    env = {**source_env(app, database_url, tmp_path), "PATH": str(tmp_path / "no-tools")}
    done = crm("backup", str(tmp_path / "crm.tar.gz"), env=env)
    assert done.returncode == 1
    assert "pg_dump is not installed" in done.stderr and "postgresql-client" in done.stderr
    assert not (tmp_path / "crm.tar.gz").exists()
