"""The ``crm`` console command, run through Flask's CLI test runner."""

from __future__ import annotations

import sys

import pytest
from sqlalchemy import func, select, text

from crm.models import Enterprise, Role, User

STRONG = "a strong password 42"


@pytest.fixture(autouse=True)
def _flatten_units(db):
    """conftest empties tables with one DELETE each; on SQLite the RESTRICT on
    org_unit.parent_id fires per row, so detach sub-units first."""
    yield
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE org_unit SET parent_id = NULL"))


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _users(db) -> list[User]:
    db.session.expire_all()
    return list(db.session.execute(select(User)).scalars())


# -- crm user create -------------------------------------------------------------
def test_user_create_from_stdin_can_log_in(runner, db, make_unit, client):
    unit = make_unit("叙州区")
    result = runner.invoke(
        args=[
            "crm", "user", "create",
            "--email", "Chen.Xiao@Example.TEST",
            "--name", "陈晓",
            "--role", "staff",
            "--unit", "叙州区",
            "--password-stdin",
        ],
        input=STRONG + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "chen.xiao@example.test" in result.output
    (user,) = _users(db)
    assert (user.email, user.role, [u.id for u in user.units]) == (
        "chen.xiao@example.test",
        Role.STAFF,
        [unit.id],
    )
    response = client.post("/login", data={"email": "chen.xiao@example.test", "password": STRONG})
    assert response.status_code == 302


def test_user_create_unit_by_id_and_prompted_password(runner, db, make_unit):
    a, b = make_unit("南溪区"), make_unit("江安县")
    result = runner.invoke(
        args=["crm", "user", "create", "--email", "m@example.test", "--name", "经理",
              "--role", "manager", "--unit", str(a.id), "--unit", "江安县", "--locale", "en"],
        input=f"{STRONG}\n{STRONG}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (user,) = _users(db)
    assert sorted(u.id for u in user.units) == sorted([a.id, b.id])
    assert user.locale == "en"


def test_user_create_prompt_mismatch_fails(runner, db, make_unit):
    make_unit("高县")
    result = runner.invoke(
        args=["crm", "user", "create", "--email", "x@example.test", "--name", "X",
              "--role", "staff", "--unit", "高县"],
        input=f"{STRONG}\nsomething else 123\n",
    )  # fmt: skip
    assert result.exit_code != 0
    assert _users(db) == []


def test_user_create_bad_role_fails(runner, db):
    result = runner.invoke(
        args=["crm", "user", "create", "--email", "x@example.test", "--name", "X",
              "--role", "emperor", "--password-stdin"],
        input=STRONG + "\n",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "emperor" in result.output
    assert _users(db) == []


@pytest.mark.parametrize(
    "args,password,message",
    [
        (["--role", "staff", "--unit", "珙县"], "short", "at least 10 characters"),
        (["--role", "staff"], STRONG, "Choose at least one unit"),
        (["--role", "staff", "--unit", "火星县"], STRONG, "Unknown or ambiguous unit: 火星县"),
    ],
)
def test_user_create_validation_errors(runner, db, make_unit, args, password, message):
    make_unit("珙县")
    result = runner.invoke(
        args=["crm", "user", "create", "--email", "x@example.test", "--name", "X", *args,
              "--password-stdin"],
        input=password + "\n",
    )  # fmt: skip
    assert result.exit_code == 1
    assert message in result.output
    assert _users(db) == []


def test_user_create_duplicate_email_fails(runner, db, make_user):
    make_user(Role.ADMIN, email="root@example.test")
    result = runner.invoke(
        args=["crm", "user", "create", "--email", "ROOT@example.test", "--name", "X",
              "--role", "admin", "--password-stdin"],
        input=STRONG + "\n",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert len(_users(db)) == 1


# -- crm demo load ------------------------------------------------------------------
def test_demo_load_accounts_work_with_env_password(runner, db, client, monkeypatch):
    monkeypatch.setenv("CRM_DEMO_PASSWORD", STRONG)
    result = runner.invoke(args=["crm", "demo", "load"])
    assert result.exit_code == 0, result.output
    assert "admin@demo.crm.local" in result.output
    assert STRONG not in result.output  # the operator chose it; it is not echoed
    db.session.expire_all()
    names = set(db.session.execute(select(Enterprise.name)).scalars())
    assert {
        "四川丽豪半导体材料有限公司",
        "宜宾长盈精密技术有限公司",
        "内蒙古蒙牛乳业（集团）股份有限公司",
    } <= names
    for email in ("admin@demo.crm.local", "staff.xuzhou@demo.crm.local"):
        response = client.post("/login", data={"email": email, "password": STRONG})
        assert response.status_code == 302, email
        client.post("/logout")
    # Only hashes are stored.
    hashes = db.session.execute(select(User.password_hash)).scalars().all()
    assert all(STRONG not in h for h in hashes)


def test_demo_load_generates_and_prints_a_password_once(runner, db, client, monkeypatch):
    monkeypatch.delenv("CRM_DEMO_PASSWORD", raising=False)
    result = runner.invoke(args=["crm", "demo", "load"])
    assert result.exit_code == 0, result.output
    line = next(li for li in result.output.splitlines() if "shown once" in li)
    password = line.rsplit(" ", 1)[-1]
    assert len(password) >= 10
    response = client.post("/login", data={"email": "leader@demo.crm.local", "password": password})
    assert response.status_code == 302


def test_demo_load_if_empty_is_a_no_op_the_second_time(runner, db, monkeypatch):
    monkeypatch.setenv("CRM_DEMO_PASSWORD", STRONG)
    assert runner.invoke(args=["crm", "demo", "load", "--if-empty"]).exit_code == 0
    db.session.expire_all()
    counts = [
        db.session.execute(select(func.count()).select_from(m)).scalar_one()
        for m in (User, Enterprise)
    ]
    assert counts[0] >= 8 and counts[1] >= 20

    result = runner.invoke(args=["crm", "demo", "load", "--if-empty"])
    assert result.exit_code == 0
    assert "not loaded" in result.output
    result = runner.invoke(args=["crm", "demo", "load"])
    assert result.exit_code == 1
    assert "only into an empty database" in result.output
    db.session.expire_all()
    assert counts == [
        db.session.execute(select(func.count()).select_from(m)).scalar_one()
        for m in (User, Enterprise)
    ]


def test_demo_load_refuses_a_weak_env_password(runner, db, monkeypatch):
    monkeypatch.setenv("CRM_DEMO_PASSWORD", "short")
    result = runner.invoke(args=["crm", "demo", "load"])
    assert result.exit_code == 1
    assert "at least 10 characters" in result.output
    assert _users(db) == []


# -- crm serve (arguments only; the processes are smoke-tested by hand) --------------
@pytest.fixture
def fake_serve(monkeypatch):
    import crm.cli

    calls = {}
    monkeypatch.setattr(crm.cli, "prepare_for_serving", lambda: calls.setdefault("prepared", True))

    def _supervise(commands):
        calls["commands"] = commands
        return 0

    monkeypatch.setattr(crm.cli, "supervise", _supervise)
    return calls


def test_serve_defaults_run_web_worker_and_beat(runner, fake_serve):
    result = runner.invoke(args=["crm", "serve"])
    assert result.exit_code == 0, result.output
    assert fake_serve["prepared"]
    names = [name for name, _ in fake_serve["commands"]]
    assert names == ["web", "worker", "beat"]
    web = fake_serve["commands"][0][1]
    assert web[0] == sys.executable
    assert "127.0.0.1:5000" in web or "5000" in web
    worker = fake_serve["commands"][1][1]
    assert worker[:5] == [sys.executable, "-m", "celery", "-A", "wsgi.celery_app"]
    assert "--concurrency" in worker
    assert "http://127.0.0.1:5000/" in result.output


def test_serve_host_port_and_no_worker(runner, fake_serve):
    result = runner.invoke(
        args=["crm", "serve", "--host", "0.0.0.0", "--port", "8080", "--no-worker"]
    )
    assert result.exit_code == 0, result.output
    ((name, web),) = fake_serve["commands"]
    assert name == "web"
    assert "0.0.0.0:8080" in web
    assert "gunicorn" in web


def test_serve_rejects_a_bad_port(runner, fake_serve):
    result = runner.invoke(args=["crm", "serve", "--port", "seventy"])
    assert result.exit_code == 2
    assert "commands" not in fake_serve


def test_db_group_has_upgrade_and_downgrade(runner):
    result = runner.invoke(args=["crm", "db", "--help"])
    assert result.exit_code == 0
    assert "upgrade" in result.output and "downgrade" in result.output
