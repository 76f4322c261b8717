"""The yearly, month-cumulative totals of funds in place per project (``project_funds_year``).

``add`` runs with every funds entry, in the same transaction; ``rebuild``
recomputes the table from the entries (after a bulk load, or to check it).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Integer, and_, case, cast, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from crm.extensions import db
from crm.models import FundsEntry, FundsSource, project_funds_year

T = project_funds_year.c


def total_column(month: int):
    return T[f"total_to_m{month:02d}_yuan"]


def oop_column(month: int):
    return T[f"oop_to_m{month:02d}_yuan"]


def _ensure_row(project_id: int, year: int) -> None:
    dialect = db.session.get_bind().dialect.name
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        maker(project_funds_year)
        .values(project_id=project_id, year=year)
        .on_conflict_do_nothing(index_elements=["project_id", "year"])
    )


def add(project_id: int, month: date, source: FundsSource, amount_wan: Decimal) -> None:
    """Add an entry's amount to its month and every later month of its year.

    ``col = col + amount`` in one UPDATE: two entries for the same project in
    concurrent transactions both count (no read-modify-write).
    """
    _ensure_row(project_id, month.year)
    values = {}
    for m in range(month.month, 13):
        values[total_column(m).name] = total_column(m) + amount_wan
        if source == FundsSource.OUTSIDE_PROVINCE:
            values[oop_column(m).name] = oop_column(m) + amount_wan
    db.session.execute(
        update(project_funds_year)
        .where(T.project_id == project_id, T.year == month.year)
        .values(values)
    )


def rebuild() -> None:
    """Recompute every row from ``funds_entry`` (one INSERT … SELECT)."""
    db.session.execute(delete(project_funds_year))
    year = cast(func.extract("year", FundsEntry.month), Integer)
    month = cast(func.extract("month", FundsEntry.month), Integer)
    oop = FundsEntry.source == FundsSource.OUTSIDE_PROVINCE
    columns = []
    names = ["project_id", "year"]
    for m in range(1, 13):
        columns.append(func.sum(case((month <= m, FundsEntry.amount_wan), else_=0)))
        columns.append(func.sum(case((and_(month <= m, oop), FundsEntry.amount_wan), else_=0)))
        names += [total_column(m).name, oop_column(m).name]
    db.session.execute(
        insert(project_funds_year).from_select(
            names,
            select(FundsEntry.project_id, year, *columns).group_by(FundsEntry.project_id, year),
        )
    )
