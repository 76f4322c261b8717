"""What rows name, found once per import: units, industries, chambers, people, and records by key.

Reference lists are small and read whole; enterprises and projects are looked
up by credit code / platform number a chunk of rows at a time (one query per
chunk instead of one per row).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict

from sqlalchemy import select

from crm.access import Access
from crm.extensions import db
from crm.models import Chamber, Enterprise, Industry, OrgUnit, Project, UnitKind, User


def key(text: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split()).lower()


class References:
    """Units (with the importer's scope), industries, chambers and active users by email."""

    def __init__(self, access: Access):
        self.access = access
        self.units_by_name: dict[str, list[OrgUnit]] = defaultdict(list)
        for unit in db.session.execute(
            select(OrgUnit).where(OrgUnit.is_active.is_(True))
        ).scalars():
            self.units_by_name[key(unit.name)].append(unit)
            if unit.name_en:
                self.units_by_name[key(unit.name_en)].append(unit)
        self.allowed_unit_ids = None if access.sees_everything else set(access.unit_ids)
        self.industries = {
            key(name): row
            for row in db.session.execute(select(Industry)).scalars()
            for name in (row.name, row.name_en)
            if name
        }
        self.chambers = {
            key(name): row
            for row in db.session.execute(select(Chamber)).scalars()
            for name in (row.name, row.name_en)
            if name
        }
        self._users: dict[str, User | None] = {}

    def unit(self, name: str, kind: UnitKind | None = None) -> tuple[OrgUnit | None, str | None]:
        """(unit, None) or (None, problem): 'unknown', 'ambiguous', 'scope'."""
        found = self.units_by_name.get(key(name), [])
        if kind is not None:
            found = [u for u in found if u.kind == kind]
        unique = {u.id: u for u in found}
        if not unique:
            return None, "unknown"
        if len(unique) > 1:
            return None, "ambiguous"
        unit = next(iter(unique.values()))
        if self.allowed_unit_ids is not None and unit.id not in self.allowed_unit_ids:
            return None, "scope"
        return unit, None

    def user(self, text: str) -> User | None:
        email = key(text)
        if email not in self._users:
            self._users[email] = db.session.execute(
                select(User).where(db.func.lower(User.email) == email, User.active.is_(True))
            ).scalar_one_or_none()
        return self._users[email]


def enterprises_by_code(codes: set[str]) -> dict[str, Enterprise]:
    if not codes:
        return {}
    rows = db.session.execute(select(Enterprise).where(Enterprise.credit_code.in_(codes))).scalars()
    return {e.credit_code: e for e in rows}


def existing_codes(codes: set[str]) -> dict[str, tuple[int, bool]]:
    """code → (id, deleted) without loading the enterprises (the common case of a big import)."""
    if not codes:
        return {}
    rows = db.session.execute(
        select(Enterprise.credit_code, Enterprise.id, Enterprise.deleted_at).where(
            Enterprise.credit_code.in_(codes)
        )
    )
    return {code: (eid, deleted is not None) for code, eid, deleted in rows}


def projects_by_number(numbers: set[str]) -> dict[str, Project]:
    if not numbers:
        return {}
    rows = db.session.execute(select(Project).where(Project.platform_number.in_(numbers))).scalars()
    return {p.platform_number: p for p in rows}
