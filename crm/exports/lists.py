"""Each list's .xlsx: the list's own statement, streamed, in the list's columns.

The views hand over the statement their page uses (same scope, same filters,
same order); this module only adds what the sheet needs loaded and reads the
rows in batches from a server-side cursor (``yield_per``), so a list of 100,000
rows never sits in memory. Related rows come per batch: many-to-one by joins,
collections by ``selectinload`` (one ``IN`` query per batch, not per row).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from flask_babel import gettext
from sqlalchemy import Select, select
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload

from crm.access import Access
from crm.enterprises import queries as enterprise_queries
from crm.exports import sheets
from crm.exports.xlsx_stream import Column, Sheet, xlsx_response
from crm.extensions import db
from crm.models import (
    Chamber,
    Enterprise,
    EnterpriseIssue,
    FollowUp,
    Industry,
    OrgUnit,
    Project,
    Reminder,
    SupervisionItem,
    User,
    enterprise_unit,
)

BATCH = 1000


def streamed(stmt: Select, *, batch: int | None = None) -> Iterator:
    """The statement's entities, fetched ``batch`` at a time (a server-side cursor on PostgreSQL)."""
    result = db.session.execute(stmt.execution_options(yield_per=batch or BATCH))
    yield from result.scalars()


def download(title: str, slug: str, columns: list[Column], rows: Iterable):
    return xlsx_response([Sheet(title, columns, rows)], title=title, slug=slug)


# What a register row shows, read as plain columns: at 100,000 rows, building ORM
# objects cost more than writing the cells (57 of ~180 µs a row).
ENTERPRISE_FIELDS = (
    Enterprise.id,
    Enterprise.name,
    Enterprise.name_en,
    Enterprise.credit_code,
    Enterprise.fortune_global_500_year,
    Enterprise.china_top_500_year,
    Enterprise.china_private_500_year,
    Enterprise.is_listed,
    Enterprise.is_foreign_invested,
    Enterprise.is_settled,
    Enterprise.is_reinvesting,
    Enterprise.region,
    Enterprise.address,
    Enterprise.last_activity_at,
    Enterprise.created_at,
)


def enterprises(access: Access, filters: enterprise_queries.Filters):
    """The register's rows for this viewer and filters (its own conditions and order)."""
    conditions, _plan = enterprise_queries.register_conditions(access, filters)
    responsible = aliased(User)
    stmt = (
        select(
            *ENTERPRISE_FIELDS,
            Industry.name.label("industry_name"),
            Chamber.name.label("chamber_name"),
            responsible.name.label("responsible_name"),
        )
        .outerjoin(Industry, Industry.id == Enterprise.industry_id)
        .outerjoin(Chamber, Chamber.id == Enterprise.chamber_id)
        .outerjoin(responsible, responsible.id == Enterprise.responsible_id)
        .where(*conditions)
        .order_by(*enterprise_queries.NEWEST_FIRST)
    )
    title = gettext("Enterprises")
    return download(title, "enterprises", sheets.ENTERPRISE_COLUMNS, _with_unit_names(stmt))


def _with_unit_names(stmt: Select) -> Iterator[tuple]:
    """(row, its units' names) for each row, the names looked up once per batch."""
    result = db.session.execute(stmt.execution_options(yield_per=BATCH))
    for batch in result.partitions():
        names: dict[int, list[str]] = defaultdict(list)
        lookup = (
            select(enterprise_unit.c.enterprise_id, OrgUnit.name)
            .join(OrgUnit, OrgUnit.id == enterprise_unit.c.unit_id)
            .where(enterprise_unit.c.enterprise_id.in_([row.id for row in batch]))
            .order_by(OrgUnit.path)
        )
        for enterprise_id, name in db.session.execute(lookup):
            names[enterprise_id].append(name)
        for row in batch:
            yield row, names.get(row.id, ())


def _joined(*attributes):
    """Many-to-one rows joined into the statement, without what they would load in turn
    (an enterprise's units, a person's units): one statement per batch, nothing per row."""
    return [joinedload(attribute).lazyload("*") for attribute in attributes]


def projects(stmt: Select):
    """``stmt``: the project list's statement (access.projects() joined to Enterprise, filtered)."""
    stmt = stmt.options(
        # The enterprise's name comes from the scope's own join, as on the page.
        contains_eager(Project.enterprise).lazyload("*"),
        *_joined(Project.industry, Project.county, Project.park, Project.task_force),
    )
    title = gettext("Projects")
    return download(title, "projects", sheets.PROJECT_COLUMNS, streamed(stmt))


def issues(stmt: Select):
    stmt = stmt.options(
        *_joined(EnterpriseIssue.enterprise, EnterpriseIssue.assignee, EnterpriseIssue.unit)
    )
    title = gettext("Enterprise issues")
    return download(title, "enterprise-issues", sheets.ISSUE_COLUMNS, streamed(stmt))


def follow_ups(stmt: Select):
    stmt = stmt.options(*_joined(FollowUp.enterprise, FollowUp.owner, FollowUp.visit))
    title = gettext("Follow-ups")
    return download(title, "follow-ups", sheets.FOLLOW_UP_COLUMNS, streamed(stmt))


def supervision(stmt: Select):
    stmt = stmt.options(
        *_joined(
            SupervisionItem.enterprise,
            SupervisionItem.unit,
            SupervisionItem.owner,
            SupervisionItem.project,
            SupervisionItem.issue,
        )
    )
    title = gettext("Supervision items")
    return download(title, "supervision", sheets.SUPERVISION_COLUMNS, streamed(stmt))


def users(stmt: Select):
    stmt = stmt.options(selectinload(User.units))
    title = gettext("Users")
    return download(title, "users", sheets.USER_COLUMNS, streamed(stmt))


def trash(items: Iterable):
    """The trash is a few hundred rows per kind at most (crm.trash caps it): a plain list."""
    title = gettext("Trash")
    return download(title, "trash", sheets.TRASH_COLUMNS, items)


def deliveries(stmt: Select):
    stmt = stmt.options(*_joined(Reminder.recipient))
    title = gettext("Mail delivery")
    return download(title, "mail-delivery", sheets.DELIVERY_COLUMNS, streamed(stmt))
