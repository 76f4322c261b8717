"""Registering many new enterprises at once, leaving what ``create_enterprise`` leaves.

``crm.enterprises.services.create_enterprise`` costs about 6 ms a row (a
uniqueness query, two flushes, the gram rows, the timeline event and its
UPDATE): 50,000 rows would take five minutes. Here a batch of rows, already
checked by ``rows.EnterpriseRows`` with the service's own rules (credit code,
name, text limits, list years, units in the importer's scope), is written with
one flush and two multi-row INSERTs, and every row ends up as the service
would leave it: the same columns (search columns included, see
``search``), the same gram rows, and the same ``enterprise.created``
event in its file, with the importer as actor. Only new enterprises come here;
updates go through ``update_enterprise`` one by one.
``tests/test_imports_enterprises.py::test_batch_leaves_what_the_service_leaves``
holds the two side by side.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, insert

from crm.enterprises import search
from crm.extensions import db
from crm.models import Enterprise, EnterpriseGram, TimelineEvent, User
from crm.models.base import utcnow


def create_enterprises(batch: list[dict[str, Any]], *, actor: User | None) -> list[Enterprise]:
    now = utcnow()
    created = []
    for fields in batch:
        fields = dict(fields)
        enterprise = Enterprise(
            created_by_id=actor.id if actor else None,
            last_activity_at=now,
            is_listed=bool(fields.pop("is_listed", False)),
            is_foreign_invested=bool(fields.pop("is_foreign_invested", False)),
            is_settled=bool(fields.pop("is_settled", False)),
            is_reinvesting=bool(fields.pop("is_reinvesting", False)),
        )
        enterprise.responsible = fields.pop("responsible", None) or actor
        enterprise.units = list(fields.pop("units", None) or [])
        for name, value in fields.items():
            setattr(enterprise, name, value)
        search.refresh_columns(enterprise)
        created.append(enterprise)
    db.session.add_all(created)
    db.session.flush()
    # In the primary key's order (gram, enterprise): the B-tree is written page by page
    # instead of at ~25 random places per enterprise.
    gram_rows = [
        {"gram": gram, "enterprise_id": enterprise_id}
        for gram, enterprise_id in sorted(
            (gram, e.id) for e in created for gram in search.grams(e.name)
        )
    ]
    # Core INSERTs on the tables: the ORM's bulk path handles each of the ~25 gram
    # rows per enterprise as an object-like dict, which costs more than the database.
    connection = db.session.connection()
    if gram_rows:
        _insert_grams(connection, gram_rows)
    _insert_rows(
        connection,
        TimelineEvent.__table__,
        (
            "enterprise_id",
            "kind",
            "actor_id",
            "subject_type",
            "subject_id",
            "data",
            "occurred_at",
            "recorded_at",
        ),
        [
            (
                e.id,
                "enterprise.created",
                actor.id if actor else None,
                "enterprise",
                e.id,
                {"title": e.name, "text": e.credit_code},
                now,
                now,
            )
            for e in created
        ],
    )
    return created


def _insert_grams(connection, gram_rows: list[dict]) -> None:
    _insert_rows(
        connection,
        EnterpriseGram.__table__,
        ("gram", "enterprise_id"),
        [(row["gram"], row["enterprise_id"]) for row in gram_rows],
    )


def _insert_rows(connection, table, names: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY on PostgreSQL, a multi-row INSERT elsewhere.

    psycopg parses an INSERT of many VALUES rows on the client, which cost half a
    millisecond per enterprise; COPY sends the rows as data. JSON columns are
    sent as JSON text, as the column type would bind them.
    """
    if connection.dialect.name == "postgresql":
        json_columns = {i for i, name in enumerate(names) if isinstance(table.c[name].type, JSON)}
        cursor = connection.connection.driver_connection.cursor()
        columns = ", ".join(names)
        with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
            for row in rows:
                if json_columns:
                    row = tuple(
                        json.dumps(v) if i in json_columns else v for i, v in enumerate(row)
                    )
                copy.write_row(row)
        return
    connection.execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])
