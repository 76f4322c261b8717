"""The ``crm`` console command (also ``flask --app wsgi crm ...``)."""

from __future__ import annotations

import click
from flask.cli import AppGroup, FlaskGroup

crm_group = AppGroup("crm", help="Enterprise service CRM commands.")


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


def main() -> None:
    """Entry point of the ``crm`` script: the ``crm`` group with the app loaded."""
    from crm import create_app

    cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False)
    for name, command in crm_group.commands.items():
        cli.add_command(command, name)
    cli.main(prog_name="crm")
