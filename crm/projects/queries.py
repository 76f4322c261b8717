"""The project list's filters as SQL conditions, shared by the list page and the API."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, or_

from crm.models import AttractionChannel, Project, ProjectStage
from crm.projects import figures


def list_conditions(
    *,
    today: date,
    stage: ProjectStage | str | None = None,
    county_id: int | None = None,
    task_force_id: int | None = None,
    key: bool = False,
    stalled: bool = False,
    q: str | None = None,
    channel: AttractionChannel | str | None = None,
) -> list[ColumnElement[bool]]:
    """Conditions on Project for the filters given (empty or false ones add nothing)."""
    found: list[ColumnElement[bool]] = []
    if stage:
        found.append(Project.stage == ProjectStage(stage))
    if county_id:
        found.append(Project.county_id == county_id)
    if task_force_id:
        found.append(Project.task_force_id == task_force_id)
    if channel:
        found.append(Project.channel == AttractionChannel(channel))
    if key:
        found.append(Project.is_key)
    if stalled:
        found.append(figures.stalled_condition(today))
    text = (q or "").strip()
    if text:
        found.append(
            or_(
                Project.name.icontains(text, autoescape=True),
                Project.name_en.icontains(text, autoescape=True),
            )
        )
    return found
