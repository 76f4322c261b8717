"""The schema is made by migrations: up from empty to head, models match, and back down."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from crm import create_app
from crm.extensions import db
from crm.models.base import exists_on


@pytest.fixture
def migration_url(database_url, tmp_path):
    """An empty database of the same kind as the suite's, used only here."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    name = f"{url.database}_migrations"
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_matches_models_and_downgrade_empties(migration_url):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": migration_url})
    with app.app_context():
        upgrade()
        engine = db.engine
        tables = set(inspect(engine).get_table_names())
        assert {"enterprise", "timeline_event", "user", "org_unit", "enterprise_gram"} <= tables

        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "render_as_batch": True,
                    "include_object": lambda obj, *_: exists_on(obj, conn.dialect.name),
                },
            )
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"

        # Down again with data in it (a unit tree, an enterprise, its file).
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO org_unit (id, name, kind, path) VALUES (1, '宜宾', 'bureau', '/1/')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO org_unit (id, name, kind, parent_id, path) VALUES (2, '翠屏区', 'county', 1, '/1/2/')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO enterprise (id, credit_code, name, unit_paths) "
                    "VALUES (1, '91350100M000100Y43', '宜宾长盈精密技术有限公司', '|/1/2/|')"
                )
            )
            conn.execute(text("INSERT INTO enterprise_unit (enterprise_id, unit_id) VALUES (1, 2)"))
        downgrade(revision="base")
        remaining = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        engine.dispose()
