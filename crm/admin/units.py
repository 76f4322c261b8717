"""Organisation units: a tree kept with materialised paths."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from crm.errors import ServiceError
from crm.extensions import db
from crm.models import Enterprise, OrgUnit, Project, UnitKind
from crm.records import check_version


def _check_sibling_name(name: str, parent: OrgUnit | None, exclude_id: int | None = None) -> None:
    # The unique constraint does not cover top-level units (NULL parents are distinct in SQL).
    stmt = select(OrgUnit.id).where(
        OrgUnit.name == name,
        OrgUnit.parent_id.is_(None) if parent is None else OrgUnit.parent_id == parent.id,
    )
    if exclude_id is not None:
        stmt = stmt.where(OrgUnit.id != exclude_id)
    if db.session.execute(stmt).first() is not None:
        raise ServiceError(_l("A unit with this name already exists at this place."), "name")


def create_unit(
    *,
    name: str,
    kind: UnitKind,
    parent: OrgUnit | None = None,
    name_en: str | None = None,
    sort_order: int = 0,
) -> OrgUnit:
    name = (name or "").strip()
    if not name:
        raise ServiceError(_l("The name is required."), "name")
    _check_sibling_name(name, parent)
    unit = OrgUnit(
        name=name, name_en=name_en or None, kind=kind, parent=parent, sort_order=sort_order
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
    # Enterprises and projects keep their units' paths for access checks (see crm.access);
    # every path at or below the moved unit starts with "|" + old_path there.
    for model in (Enterprise, Project):
        db.session.execute(
            update(model)
            .where(model.unit_paths.contains("|" + old_path, autoescape=True))
            .values(unit_paths=func.replace(model.unit_paths, "|" + old_path, "|" + new_path))
            .execution_options(synchronize_session=False)
        )


def update_unit(
    unit: OrgUnit,
    *,
    expected_version: int | None,
    name: str,
    kind: UnitKind,
    parent: OrgUnit | None,
    name_en: str | None = None,
    sort_order: int | None = None,
    is_active: bool | None = None,
) -> OrgUnit:
    """Rename, re-kind and re-parent a unit (the move refuses cycles)."""
    check_version(unit, expected_version)
    name = (name or "").strip()
    if not name:
        raise ServiceError(_l("The name is required."), "name")
    if parent is not None and parent.path.startswith(unit.path):
        raise ServiceError(
            _l("A unit cannot be placed under itself or its own sub-units."), "parent"
        )
    _check_sibling_name(name, parent, exclude_id=unit.id)
    if is_active is False and unit.is_active:
        _check_can_deactivate(unit)
    unit.name = name
    unit.name_en = name_en or None
    unit.kind = kind
    if sort_order is not None:
        unit.sort_order = sort_order
    if is_active is not None:
        unit.is_active = is_active
    move_unit(unit, parent)
    db.session.flush()
    return unit


def _check_can_deactivate(unit: OrgUnit) -> None:
    active_children = db.session.execute(
        select(OrgUnit.id).where(OrgUnit.parent_id == unit.id, OrgUnit.is_active.is_(True))
    ).first()
    if active_children is not None:
        raise ServiceError(
            _l("Deactivate the sub-units first: this unit still has active sub-units."), "parent"
        )


def deactivate_unit(unit: OrgUnit) -> None:
    """Hide a unit from pickers; its records and users keep pointing at it."""
    _check_can_deactivate(unit)
    unit.is_active = False
    db.session.flush()


def subtree_ids(unit: OrgUnit) -> list[int]:
    return list(
        db.session.execute(select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path))).scalars()
    )


@dataclass(frozen=True)
class TreeRow:
    unit: OrgUnit
    depth: int


def unit_tree(*, include_inactive: bool = True) -> list[TreeRow]:
    """Every unit in depth-first order, siblings by sort order then name."""
    stmt = select(OrgUnit)
    if not include_inactive:
        stmt = stmt.where(OrgUnit.is_active.is_(True))
    units = db.session.execute(stmt).scalars().all()
    known = {u.id for u in units}
    children: dict[int | None, list[OrgUnit]] = {}
    for unit in units:
        # An active child of an inactive parent is still listed, at the top.
        parent_id = unit.parent_id if unit.parent_id in known else None
        children.setdefault(parent_id, []).append(unit)
    for siblings in children.values():
        siblings.sort(key=lambda u: (u.sort_order, u.name))

    rows: list[TreeRow] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for unit in children.get(parent_id, []):
            rows.append(TreeRow(unit, depth))
            walk(unit.id, depth + 1)

    walk(None, 0)
    return rows


def find_unit(ref: str | int) -> OrgUnit | None:
    """A unit by id or by exact name (None when unknown or ambiguous)."""
    text = str(ref).strip()
    if text.isdigit():
        return db.session.get(OrgUnit, int(text))
    matches = db.session.execute(select(OrgUnit).where(OrgUnit.name == text)).scalars().all()
    return matches[0] if len(matches) == 1 else None


__all__ = [
    "create_unit",
    "deactivate_unit",
    "find_unit",
    "move_unit",
    "subtree_ids",
    "unit_tree",
    "update_unit",
]
