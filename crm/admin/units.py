"""Organisation units: a tree kept with materialised paths."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.errors import ServiceError
from crm.extensions import db
from crm.models import OrgUnit, UnitKind


def create_unit(
    *,
    name: str,
    kind: UnitKind,
    parent: OrgUnit | None = None,
    name_en: str | None = None,
    sort_order: int = 0,
) -> OrgUnit:
    unit = OrgUnit(
        name=name.strip(), name_en=name_en, kind=kind, parent=parent, sort_order=sort_order
    )
    db.session.add(unit)
    db.session.flush()  # the id is part of the path
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    db.session.flush()
    return unit


def move_unit(unit: OrgUnit, new_parent: OrgUnit | None) -> None:
    """Re-parent a unit and rewrite the paths of everything below it."""
    if new_parent is not None and new_parent.path.startswith(unit.path):
        raise ServiceError(
            _l("A unit cannot be placed under itself or its own sub-units."), "parent"
        )
    old_path = unit.path
    new_path = f"{new_parent.path if new_parent else '/'}{unit.id}/"
    if old_path == new_path:
        return
    unit.parent = new_parent
    db.session.flush()
    descendants = db.session.execute(
        select(OrgUnit).where(OrgUnit.path.startswith(old_path), OrgUnit.id != unit.id)
    ).scalars()
    for child in descendants:
        child.path = new_path + child.path[len(old_path) :]
    unit.path = new_path
    db.session.flush()


def subtree_ids(unit: OrgUnit) -> list[int]:
    return list(
        db.session.execute(select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path))).scalars()
    )


__all__ = ["create_unit", "move_unit", "subtree_ids"]
