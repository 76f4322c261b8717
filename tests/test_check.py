"""``crm check`` against real services: a migrated database (PostgreSQL when
CRM_TEST_DATABASE_URL is one, else SQLite), a real Redis, a real SMTP server on
loopback and a real upload folder; then each part broken in turn.

Each run is the console in its own process, configured only by environment variables.
"""

from __future__ import annotations

import pytest

from tests.ops_services import crm, fresh_database, postgres_test_url, redis_for_tests
from tests.smtp_sink import Server, free_port

PARTS = ("config", "database", "broker", "mail", "uploads")


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory):
    folder = tmp_path_factory.mktemp("check-db")
    with fresh_database(folder, "check") as url:
        done = crm("db", "upgrade", env={"DATABASE_URL": url, "CRM_INSTANCE_PATH": str(folder)})
        assert done.returncode == 0, done.stderr
        yield url


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with redis_for_tests(tmp_path_factory.mktemp("check-redis")) as url:
        yield url


@pytest.fixture(scope="module")
def smtp_server():
    server = Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def env(tmp_path, migrated_database, redis_url, smtp_server):
    """A production configuration in which every part works."""
    return {
        "CRM_CONFIG": "production",
        "SECRET_KEY": "k" * 48,
        "EXTERNAL_URL": "https://crm.example.test",
        "TRUSTED_PROXIES": "1",
        "DATABASE_URL": migrated_database,
        "CELERY_BROKER_URL": redis_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server.port),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "CRM_INSTANCE_PATH": str(tmp_path / "instance"),
    }


def lines_of(output: str) -> dict[str, list[str]]:
    """Each part's lines, e.g. {"mail": ["FAIL  mail: cannot talk SMTP to …"]}."""
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        status, _, rest = line.partition("  ")
        part = rest.split(":", 1)[0].strip()
        if status.strip() in {"ok", "warn", "FAIL"} and part in PARTS:
            found.setdefault(part, []).append(line)
    return found


def failed_parts(output: str) -> set[str]:
    return {part for part, lines in lines_of(output).items() if any("FAIL" in x for x in lines)}


def test_everything_reachable_passes(env, smtp_server):
    before = smtp_server.count()
    done = crm("check", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    found = lines_of(done.stdout)
    assert set(found) == set(PARTS), done.stdout
    assert failed_parts(done.stdout) == set()
    assert "migrations at head" in found["database"][0]
    assert "EHLO, NOOP" in found["mail"][0]
    assert smtp_server.count() == before  # checked, nothing sent
    if postgres_test_url() is None:
        assert any("SQLite" in line for line in found["config"])  # a warning, not a failure


def _a_file(tmp_path):
    path = tmp_path / "not-a-folder"
    path.write_text("a file where the upload folder's parent should be")
    return path


BROKEN = {
    # part: (environment that breaks it, words its FAIL line must hold)
    "broker": (
        lambda tmp: {"CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"},
        ["CELERY_BROKER_URL", "cannot reach"],
    ),
    "mail": (
        lambda tmp: {"MAIL_PORT": str(free_port())},
        ["cannot talk SMTP", "MAIL_SERVER=127.0.0.1", "MAIL_PORT="],
    ),
    "uploads": (
        lambda tmp: {"UPLOAD_FOLDER": str(_a_file(tmp) / "uploads")},
        ["UPLOAD_FOLDER=", "not writable"],
    ),
}


@pytest.mark.parametrize("part", sorted(BROKEN))
def test_a_broken_part_is_named_and_fails(env, tmp_path, part):
    change, words = BROKEN[part]
    done = crm("check", env={**env, **change(tmp_path)})
    assert done.returncode == 1, done.stdout
    assert failed_parts(done.stdout) == {part}, done.stdout
    line = lines_of(done.stdout)[part][0]
    for word in words:
        assert word in line, line


def test_an_unreachable_database_is_named(env, tmp_path):
    if postgres_test_url():
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    else:
        url = f"sqlite:///{tmp_path / 'missing-folder' / 'crm.sqlite'}"
    done = crm("check", env={**env, "DATABASE_URL": url})
    assert done.returncode == 1, done.stdout + done.stderr
    assert failed_parts(done.stdout) == {"database"}, done.stdout
    line = lines_of(done.stdout)["database"][0]
    assert "cannot connect to DATABASE_URL=" in line, line


def test_a_database_without_migrations_says_to_upgrade(env, tmp_path):
    with fresh_database(tmp_path / "bare", "check_bare") as url:
        done = crm("check", env={**env, "DATABASE_URL": url})
    assert done.returncode == 1, done.stdout + done.stderr
    line = lines_of(done.stdout)["database"][0]
    assert "FAIL" in line and "no schema" in line and "crm db upgrade" in line, line


def test_production_without_secret_key_or_https_fails(env):
    broken = {**env, "EXTERNAL_URL": "http://crm.example.test"}
    del broken["SECRET_KEY"]
    done = crm("check", env=broken)
    assert done.returncode == 1, done.stdout
    assert failed_parts(done.stdout) == {"config"}, done.stdout
    config_lines = "\n".join(lines_of(done.stdout)["config"])
    assert "SECRET_KEY is not set" in config_lines
    assert "EXTERNAL_URL=http://crm.example.test is not https://" in config_lines


def test_embedded_defaults_pass_without_any_server(tmp_path, migrated_database):
    """No Redis, no SMTP server: the filesystem broker and the outbox folder are checked."""
    done = crm("check", env={"CRM_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": migrated_database})
    assert done.returncode == 0, done.stdout + done.stderr
    found = lines_of(done.stdout)
    assert "filesystem broker" in found["broker"][0]
    assert "outbox" in found["mail"][0]
