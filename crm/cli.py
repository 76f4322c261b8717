"""The ``crm`` console command (also ``flask --app wsgi crm ...``)."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import tarfile
import time
import zlib
from contextlib import contextmanager, suppress
from pathlib import Path

import click
from flask.cli import AppGroup, FlaskGroup

from crm.models import Role

crm_group = AppGroup("crm", help="Enterprise service CRM commands.")

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent
STOP_TIMEOUT = 10.0  # seconds a process gets to shut down before it is killed


@contextmanager
def _cli_locale():
    """Messages in the terminal's language (services translate their errors)."""
    from flask_babel import force_locale

    lang = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG", "")
    with force_locale("zh_CN" if lang.startswith("zh") else "en"):
        yield


@contextmanager
def _database_errors():
    """A missing or outdated schema is an operator's error: say so, without a traceback."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        yield
    except (OperationalError, ProgrammingError) as exc:
        _fail(
            "The database is not ready (run 'crm db upgrade' first?): "
            + str(exc.orig).splitlines()[0]
        )


def _fail(message) -> None:
    from crm.extensions import db

    db.session.rollback()
    raise click.ClickException(str(message))


# -- crm db ------------------------------------------------------------------------
@crm_group.group("db")
def db_group():
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str):
    """Apply migrations up to REVISION."""
    from flask_migrate import upgrade

    upgrade(revision=revision)
    click.echo("database is at " + revision)


@db_group.command("downgrade")
@click.option("--revision", default="-1", show_default=True, help="Target revision.")
def db_downgrade(revision: str):
    """Revert migrations down to REVISION (default: one step back)."""
    from flask_migrate import downgrade

    downgrade(revision=revision)
    click.echo("database downgraded to " + revision)


# -- crm user ----------------------------------------------------------------------
@crm_group.group("user")
def user_group():
    """User accounts."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _resolve_units(refs: tuple[str, ...]):
    from crm.admin.units import find_unit

    units = []
    for ref in refs:
        unit = find_unit(ref)
        if unit is None:
            _fail(f"Unknown or ambiguous unit: {ref} (give its exact name or its id)")
        units.append(unit)
    return units


@user_group.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--unit", "units", multiple=True, help="Unit name or id; repeatable.")
@click.option("--locale", default="zh_CN", show_default=True, type=click.Choice(["zh_CN", "en"]))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_create(email, name, role, units, locale, password_stdin):
    """Create a user account."""
    from crm.admin.services import create_user
    from crm.errors import ServiceError
    from crm.extensions import db

    with _cli_locale(), _database_errors():
        unit_rows = _resolve_units(units)
        password = _read_password(password_stdin)
        try:
            user = create_user(
                actor=None,
                email=email,
                name=name,
                role=role,
                units=unit_rows,
                locale=locale,
                password=password,
            )
        except ServiceError as exc:
            _fail(exc.message)
        db.session.commit()
        click.echo(f"created {user.role.value} {user.email} (id {user.id})")


# -- crm token ---------------------------------------------------------------------
@crm_group.group("token")
def token_group():
    """Personal API tokens."""


def _user_by_email(email: str):
    from sqlalchemy import func, select

    from crm.auth.services import normalise_email
    from crm.extensions import db
    from crm.models import User

    user = db.session.execute(
        select(User).where(func.lower(User.email) == normalise_email(email))
    ).scalar_one_or_none()
    if user is None:
        _fail(f"No user with the email address {email}")
    return user


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


@token_group.command("create")
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--name", required=True, help="What the token is for.")
def token_create(email: str, name: str):
    """Make a token; its secret is printed once and never stored."""
    from crm.api.tokens import create_token
    from crm.errors import ServiceError
    from crm.extensions import db

    with _cli_locale(), _database_errors():
        user = _user_by_email(email)
        if not user.active:
            _fail(f"The user {user.email} is deactivated")
        try:
            token, secret = create_token(user, name)
        except ServiceError as exc:
            _fail(exc.message)
        db.session.commit()
        click.echo(f"created token {token.id} ({token.prefix}) for {user.email}")
        click.echo(f"secret (shown once, not stored): {secret}")


@token_group.command("revoke")
@click.argument("ref")
def token_revoke(ref: str):
    """Revoke the token with id or prefix REF (anyone's: this is the administrator's console)."""
    from crm.api.tokens import AmbiguousToken, find_token, revoke_token
    from crm.extensions import db

    with _cli_locale(), _database_errors():
        try:
            token = find_token(ref)
        except AmbiguousToken:
            _fail(f"{ref} starts more than one token: give more of the prefix, or the id")
        if token is None:
            _fail(f"No token with the id or prefix {ref}")
        if token.revoked_at is not None:
            click.echo(f"token {token.id} ({token.prefix}) was already revoked")
            return
        revoke_token(token)
        db.session.commit()
        click.echo(f"revoked token {token.id} ({token.prefix}) of {token.user.email}")


@token_group.command("list")
@click.option("--email", help="Only this user's tokens.")
def token_list(email: str | None):
    """Tokens, newest first: id, prefix, user, name, created, last used, revoked."""
    from crm.api.tokens import all_tokens, tokens_of

    with _cli_locale(), _database_errors():
        found = tokens_of(_user_by_email(email)) if email else all_tokens()
        if not found:
            click.echo("no tokens")
            return
        for token in found:
            state = f"revoked {_when(token.revoked_at)}" if token.revoked_at else "active"
            click.echo(
                f"{token.id:>5}  {token.prefix}  {token.user.email}  {token.name}  "
                f"created {_when(token.created_at)}  last used {_when(token.last_used_at)}  {state}"
            )


# -- crm demo ----------------------------------------------------------------------
@crm_group.group("demo")
def demo_group():
    """Demo data."""


def _demo_password() -> tuple[str, bool]:
    """The demo password and whether it was generated here (and so must be shown)."""
    from crm.admin.services import generate_password

    given = os.environ.get("CRM_DEMO_PASSWORD")
    if given:
        return given, False
    return generate_password(), True


def _print_accounts(accounts, password: str | None, generated: bool) -> None:
    click.echo("Demo accounts:")
    for email, role, units in accounts:
        click.echo(f"  {email:<36} {Role(role).value:<8} {', '.join(units)}")
    if generated and password:
        click.echo(f"Password for every demo account (shown once, not stored): {password}")
    elif password:
        click.echo("Password for every demo account: the value of CRM_DEMO_PASSWORD")


def _load_demo_data() -> list | None:
    """Load and commit demo data; returns the accounts, or None when it printed why not."""
    from crm.demo import DemoDataExists, load_demo
    from crm.errors import ServiceError
    from crm.extensions import db

    password, generated = _demo_password()
    try:
        accounts = load_demo(password)
    except DemoDataExists:
        raise
    except ServiceError as exc:
        _fail(exc.message)
    db.session.commit()
    _print_accounts(accounts, password, generated)
    return accounts


@demo_group.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing (successfully) when data exists.")
def demo_load(if_empty: bool):
    """Load demo bureaus, users and enterprises into an empty database."""
    from crm.demo import DemoDataExists, has_data

    with _cli_locale(), _database_errors():
        if if_empty and has_data():
            click.echo("The database already has data: demo data not loaded.")
            return
        try:
            _load_demo_data()
        except DemoDataExists as exc:
            _fail(exc.message)


# -- crm check, backup, restore ------------------------------------------------------
@crm_group.command("check")
def check():
    """Check settings, database, broker, mail and upload folder; exit 1 on any failure."""
    from flask import current_app

    from crm.ops.check import run_checks

    results = run_checks(current_app._get_current_object())
    for result in results:
        click.echo(result.line())
    failed = [r for r in results if r.status == "FAIL"]
    if failed:
        click.echo(f"{len(failed)} check(s) failed.", err=True)
        sys.exit(1)


@contextmanager
def _backup_errors():
    """The administrator's errors (no pg_dump, data in the way, no database): one line each."""
    from sqlalchemy.exc import OperationalError

    from crm.ops.backup import BackupError

    try:
        yield
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    except OperationalError as exc:
        raise click.ClickException(
            "cannot reach the database (DATABASE_URL): " + str(exc.orig).strip().splitlines()[0]
        ) from None
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise click.ClickException(f"not a readable crm backup: {exc}") from None
    except OSError as exc:
        raise click.ClickException(
            f"{exc.filename or 'the backup'}: {exc.strerror or exc}"
        ) from None


@crm_group.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup(path: Path):
    """Write database, uploaded files and a manifest of row counts into one archive at PATH."""
    from crm.ops.backup import create_backup

    with _backup_errors():
        manifest = create_backup(path)
    rows = sum(manifest["tables"].values())
    click.echo(
        f"backup written to {path}: {len(manifest['tables'])} tables, {rows} rows, "
        f"{len(manifest['uploads'])} uploaded files"
    )


@crm_group.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
def restore(path: Path, force: bool):
    """Restore an archive made by 'crm backup' (stop web, worker and beat first)."""
    from crm.ops.backup import restore_backup

    with _backup_errors():
        manifest = restore_backup(path, force=force)
    rows = sum(manifest["tables"].values())
    click.echo(
        f"restored {path} (made {manifest['created_at']}): {len(manifest['tables'])} tables, "
        f"{rows} rows and {len(manifest['uploads'])} uploaded files verified"
    )
    if manifest["upgrade_needed"]:
        click.echo("the backup's schema is older than this code: run 'crm db upgrade' now")


# -- crm serve ---------------------------------------------------------------------
def server_commands(host: str, port: int, *, with_worker: bool) -> list[tuple[str, list[str]]]:
    """(name, argv) of the web server and, unless left out, the Celery worker and beat."""
    py = sys.executable
    if importlib.util.find_spec("gunicorn") is not None:
        web = [py, "-m", "gunicorn", "-w", "2", "-b", f"{host}:{port}", "wsgi:app"]
    else:
        web = [py, "-m", "flask", "--app", "wsgi", "run", "--host", host, "--port", str(port)]
    commands = [("web", web)]
    if with_worker:
        celery = [py, "-m", "celery", "-A", "wsgi.celery_app"]
        commands.append(("worker", [*celery, "worker", "-l", "info", "--concurrency", "1"]))
        commands.append(("beat", [*celery, "beat", "-l", "info"]))
    return commands


def compile_translations() -> None:
    """Compile the message catalogs when there are any (a fresh checkout has none)."""
    translations = PACKAGE_DIR / "translations"
    if not translations.is_dir() or importlib.util.find_spec("babel") is None:
        return
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "compile", "-d", str(translations), "-f"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        click.echo("warning: could not compile translations:\n" + result.stderr, err=True)


def prepare_for_serving() -> None:
    """Schema up to date, demo data in an empty database, catalogs compiled."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from crm.demo import DemoDataExists
    from crm.extensions import db
    from crm.models import User

    upgrade()
    with _cli_locale():
        if not db.session.execute(select(func.count()).select_from(User)).scalar_one():
            try:
                _load_demo_data()
            except DemoDataExists as exc:
                db.session.rollback()
                click.echo(f"warning: {exc.message}", err=True)
        else:
            _print_existing_demo_accounts()
    compile_translations()
    db.session.remove()
    db.engine.dispose()  # the children open their own connections


def _print_existing_demo_accounts() -> None:
    from sqlalchemy import select

    from crm.demo import DEMO_DOMAIN
    from crm.extensions import db
    from crm.models import User

    users = db.session.execute(
        select(User).where(User.email.like(f"%@{DEMO_DOMAIN}"), User.active.is_(True))
    ).scalars()
    accounts = [(u.email, u.role, [unit.name for unit in u.units]) for u in users]
    if accounts:
        _print_accounts(accounts, None, False)
        click.echo(
            "Password: the one printed when the demo data was loaded (or CRM_DEMO_PASSWORD)."
        )


def supervise(commands: list[tuple[str, list[str]]], *, stop_timeout: float = STOP_TIMEOUT) -> int:
    """Run the processes until one exits or we are told to stop; then stop them all.

    Children get their own session, so Ctrl-C reaches only this process, which
    forwards SIGTERM once and kills whatever is still running after the timeout.
    """
    stopping = False

    def _on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    procs: list[tuple[str, subprocess.Popen]] = []
    exit_code = 0
    try:
        for name, argv in commands:
            procs.append((name, subprocess.Popen(argv, cwd=ROOT, start_new_session=True)))
        while not stopping:
            for name, proc in procs:
                code = proc.poll()
                if code is not None:
                    click.echo(f"{name} exited with status {code}; stopping the others.", err=True)
                    exit_code = code or 1
                    stopping = True
                    break
            else:
                time.sleep(0.5)
    finally:
        _stop_all(procs, stop_timeout)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return exit_code


def _stop_all(procs: list[tuple[str, subprocess.Popen]], timeout: float) -> None:
    for _name, proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for name, proc in procs:
        try:
            proc.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            click.echo(f"{name} did not stop in {timeout:.0f}s; killing it.", err=True)
            # The whole process group: gunicorn and celery leave children otherwise.
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@crm_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-worker", is_flag=True, help="Run only the web server (no Celery worker/beat).")
def serve(host: str, port: int, no_worker: bool):
    """Migrate, load demo data when empty, and run web server, worker and beat."""
    prepare_for_serving()
    shown_host = f"[{host}]" if ":" in host else host
    # Links in reminder mails point where this server listens, unless configured.
    os.environ.setdefault("EXTERNAL_URL", f"http://{shown_host}:{port}")
    commands = server_commands(host, port, with_worker=not no_worker)
    click.echo(f"Serving on http://{shown_host}:{port}/  (Ctrl-C stops everything)")
    for name, argv in commands:
        click.echo(f"  {name}: {' '.join(argv)}")
    sys.exit(supervise(commands))


def main() -> None:
    """Entry point of the ``crm`` script: the ``crm`` group with the app loaded."""
    from crm import create_app

    cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False)
    for name, command in crm_group.commands.items():
        cli.add_command(command, name)
    cli.main(prog_name="crm")
