"""Which projects the public opportunity list (机遇清单) shows, and what of them.

A project is listed while it is promoted, in reserve, and neither it nor its
enterprise is deleted. Of a listed project the public sees its name and only
the fields marked public (``Project.public_fields``, a subset of
``PUBLIC_FIELDS``); never the enterprise, its contacts or anything internal.
Filters work on public values only: a county that no listed project shows
publicly is not offered, and filtering by it finds nothing.
"""

from __future__ import annotations

from flask import abort
from sqlalchemy import ColumnElement, Select, String, cast, select
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.models import PUBLIC_FIELDS, Enterprise, Industry, OrgUnit, Project, ProjectStage


def listed() -> list[ColumnElement[bool]]:
    """Conditions (on Project joined to Enterprise) for a project on the public list."""
    return [
        Project.is_promoted.is_(True),
        Project.stage == ProjectStage.RESERVE,
        Project.deleted_at.is_(None),
        Enterprise.deleted_at.is_(None),
    ]


def is_public(field: str) -> ColumnElement[bool]:
    """The project marks ``field`` public (JSON list stored as text on both databases)."""
    if field not in PUBLIC_FIELDS:
        raise ValueError(field)
    return cast(Project.public_fields, String).contains(f'"{field}"', autoescape=True)


def _base() -> Select:
    return (
        select(Project)
        .join(Enterprise, Enterprise.id == Project.enterprise_id)
        .where(*listed())
        .options(
            selectinload(Project.county),
            selectinload(Project.park),
        )
    )


def opportunities(industry_id: int | None = None, county_id: int | None = None) -> Select:
    """The listed projects, newest first, filtered by public industry / county."""
    stmt = _base()
    if industry_id is not None:
        stmt = stmt.where(Project.industry_id == industry_id, is_public("industry"))
    if county_id is not None:
        stmt = stmt.where(Project.county_id == county_id, is_public("county"))
    return stmt.order_by(Project.created_at.desc(), Project.id.desc())


def opportunity_or_404(project_id: int) -> Project:
    project = db.session.execute(_base().where(Project.id == project_id)).scalar_one_or_none()
    if project is None:
        abort(404)
    return project


def public_industries() -> list[Industry]:
    """Industries that some listed project shows publicly (the industry filter's options)."""
    ids = (
        select(Project.industry_id)
        .join(Enterprise, Enterprise.id == Project.enterprise_id)
        .where(*listed(), is_public("industry"), Project.industry_id.is_not(None))
    )
    return list(
        db.session.execute(
            select(Industry).where(Industry.id.in_(ids)).order_by(Industry.sort_order, Industry.id)
        ).scalars()
    )


def public_counties() -> list[OrgUnit]:
    """Counties that some listed project shows publicly (the county filter's options)."""
    ids = (
        select(Project.county_id)
        .join(Enterprise, Enterprise.id == Project.enterprise_id)
        .where(*listed(), is_public("county"), Project.county_id.is_not(None))
    )
    return list(
        db.session.execute(
            select(OrgUnit).where(OrgUnit.id.in_(ids)).order_by(OrgUnit.sort_order, OrgUnit.path)
        ).scalars()
    )


def shown_fields(project: Project) -> list[str]:
    """The project's public fields that have a value, in the list's order."""
    marked = set(project.public_fields or [])
    values = {
        "industry": project.industry,
        "county": project.county,
        "park": project.park,
        "contract_amount": project.contract_amount_wan,
        "description": project.description or project.description_en,
    }
    return [f for f in PUBLIC_FIELDS if f in marked and values[f] is not None]


__all__ = [
    "is_public",
    "listed",
    "opportunities",
    "opportunity_or_404",
    "public_counties",
    "public_industries",
    "shown_fields",
]
