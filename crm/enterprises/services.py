"""The enterprise register: create, change, delete and restore enterprises.

Services validate, change, record the timeline event and flush; the caller
commits. ``actor`` may be None for system work (imports, tests): the rules
about who may choose which units and responsible person then do not apply.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, lazyload

from crm import timeline
from crm.access import Access, Action
from crm.enterprises import credit_code as codes
from crm.enterprises import search
from crm.errors import DuplicateError, ServiceError
from crm.extensions import db
from crm.models import (
    Chamber,
    Enterprise,
    EnterpriseGram,
    Industry,
    OrgUnit,
    Policy,
    Project,
    User,
)
from crm.models.base import utcnow
from crm.records import check_version

# What the file shows in "who changed what"; related rows appear by name.
TRACKED_FIELDS = [
    "credit_code",
    "name",
    "name_en",
    "region",
    "address",
    "industry",
    "fortune_global_500_year",
    "china_top_500_year",
    "china_private_500_year",
    "is_listed",
    "is_foreign_invested",
    "is_settled",
    "is_reinvesting",
    "chamber",
    "responsible",
    "units",
    "description",
]

TEXT_LIMITS = {"name": 200, "name_en": 300, "region": 100, "address": 300}
YEAR_FIELDS = ("fortune_global_500_year", "china_top_500_year", "china_private_500_year")
FLAG_FIELDS = ("is_listed", "is_foreign_invested", "is_settled", "is_reinvesting")
EDITABLE = set(TRACKED_FIELDS)


# -- validation ----------------------------------------------------------------


def clean_credit_code(value: str | None) -> str:
    """The normalised code, or a ServiceError naming what is wrong with it."""
    # NFKC: full-width characters typed with a Chinese input method become ASCII.
    code = codes.normalise(unicodedata.normalize("NFKC", value or ""))
    if not code:
        raise ServiceError(_l("Enter the unified social credit code."), "credit_code")
    problem = codes.problem(code)
    if problem == "length":
        raise ServiceError(
            _l(
                "A unified social credit code has 18 characters; this one has %(count)d.",
                count=len(code),
            ),
            "credit_code",
        )
    if problem == "characters":
        bad = "".join(sorted({ch for ch in code if ch not in codes.ALPHABET}))
        raise ServiceError(
            _l(
                "A unified social credit code contains only digits and capital letters "
                "(not I, O, Z, S or V); these characters are not allowed: %(chars)s",
                chars=bad,
            ),
            "credit_code",
        )
    if problem == "check":
        raise ServiceError(
            _l(
                "The check character (the last one) does not fit the first 17: "
                "the code has a typing error. Please compare it with the business licence."
            ),
            "credit_code",
        )
    return code


def _clean_text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if field == "description":
        return str(value).strip() or None
    text = " ".join(str(value).split())
    limit = TEXT_LIMITS.get(field)
    if limit and len(text) > limit:
        raise ServiceError(
            _l("At most %(limit)d characters, please.", limit=limit),
            field,
        )
    return text or None


def _clean_year(value: Any, field: str) -> int | None:
    if value in (None, "", 0):
        return None
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise ServiceError(_l("Enter the list year, e.g. 2023."), field) from None
    if not 1990 <= year <= 2100:
        raise ServiceError(_l("Enter a list year between 1990 and 2100."), field)
    return year


def _ensure_unique_code(code: str, exclude_id: int | None = None) -> None:
    stmt = select(Enterprise).where(Enterprise.credit_code == code)
    if exclude_id is not None:
        stmt = stmt.where(Enterprise.id != exclude_id)
    existing = db.session.execute(stmt).scalars().first()
    if existing is None:
        return
    if existing.deleted_at is not None:
        message = _l(
            "An enterprise with this credit code was registered and then deleted: %(name)s. "
            "An administrator can restore it instead of registering it again.",
            name=existing.name,
        )
    else:
        message = _l(
            "An enterprise with this credit code is already registered: %(name)s.",
            name=existing.name,
        )
    raise DuplicateError(message, "credit_code", existing_id=existing.id)


def check_new_code(value: str | None) -> str:
    """The cleaned code of an enterprise about to be registered, if it is valid and new."""
    code = clean_credit_code(value)
    _ensure_unique_code(code)
    return code


def _manages(actor: User | None) -> bool:
    return actor is None or Access(actor).role_allows(Action.MANAGE)


def _check_units(actor: User | None, before: list[OrgUnit], after: list[OrgUnit]) -> None:
    if actor is None:
        return
    if not after:
        raise ServiceError(_l("Choose at least one unit."), "units")
    changed = {u.id for u in before} ^ {u.id for u in after}
    if not changed:
        return
    allowed = set(db.session.execute(Access(actor).units().with_only_columns(OrgUnit.id)).scalars())
    if changed - allowed:
        raise ServiceError(_l("You may only choose units you belong to."), "units")


def _check_responsible(
    actor: User | None, before: User | None, after: User | None, *, creating: bool
) -> None:
    if _manages(actor):
        return
    if creating and after is not None and after.id == actor.id:
        return
    if not creating and (before.id if before else None) == (after.id if after else None):
        return
    raise ServiceError(
        _l("Only a manager can make someone else responsible for an enterprise."),
        "responsible",
    )


def _apply(enterprise: Enterprise, fields: dict[str, Any]) -> None:
    """Set cleaned values; raises ServiceError for the first invalid field."""
    unknown = set(fields) - EDITABLE
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    for field, value in fields.items():
        if field == "credit_code":
            value = clean_credit_code(value)
        elif field in TEXT_LIMITS or field == "description":
            value = _clean_text(value, field)
        elif field in YEAR_FIELDS:
            value = _clean_year(value, field)
        elif field in FLAG_FIELDS:
            value = bool(value)
        elif field == "units":
            value = _unique_units(value)
        elif field in ("industry", "chamber", "responsible"):
            value = _resolve(field, value)
        setattr(enterprise, field, value)
    if not enterprise.name:
        raise ServiceError(_l("Enter the enterprise's name."), "name")


def _unique_units(units) -> list[OrgUnit]:
    seen: dict[int, OrgUnit] = {}
    for unit in units or []:
        unit = db.session.get(OrgUnit, unit) if isinstance(unit, int) else unit
        if unit is not None:
            seen.setdefault(unit.id, unit)
    return list(seen.values())


_RELATED = {"industry": Industry, "chamber": Chamber, "responsible": User}


def _resolve(field: str, value):
    """Accept the row or its id."""
    if value in (None, "", 0):
        return None
    if isinstance(value, int):
        row = db.session.get(_RELATED[field], value)
        if row is None:
            raise ServiceError(_l("Not a valid choice."), field)
        return row
    return value


def duplicate_after_race(code: str) -> DuplicateError | None:
    """After an IntegrityError and rollback: the error for the code someone just registered.

    The check before the INSERT covers the normal case; the unique index
    decides when two people register the same code at the same moment.
    """
    try:
        _ensure_unique_code(codes.normalise(code))
    except DuplicateError as exc:
        return exc
    return None


# -- the services ----------------------------------------------------------------


def create_enterprise(
    *,
    actor: User | None,
    name: str,
    credit_code: str,
    units: list[OrgUnit],
    name_en: str | None = None,
    region: str | None = None,
    address: str | None = None,
    industry: Industry | int | None = None,
    chamber: Chamber | int | None = None,
    responsible: User | int | None = None,
    fortune_global_500_year: int | None = None,
    china_top_500_year: int | None = None,
    china_private_500_year: int | None = None,
    is_listed: bool = False,
    is_foreign_invested: bool = False,
    is_settled: bool = False,
    is_reinvesting: bool = False,
    description: str | None = None,
) -> Enterprise:
    fields = dict(locals())
    del fields["actor"]
    if fields["responsible"] is None:
        fields["responsible"] = actor
    enterprise = Enterprise(created_by_id=actor.id if actor else None)
    _apply(enterprise, fields)
    _ensure_unique_code(enterprise.credit_code)
    _check_units(actor, [], enterprise.units)
    _check_responsible(actor, None, enterprise.responsible, creating=True)
    enterprise.last_activity_at = utcnow()
    search.refresh_columns(enterprise)
    db.session.add(enterprise)
    db.session.flush()
    search.write_grams(enterprise)
    timeline.record(
        enterprise.id,
        "enterprise.created",
        actor=actor,
        subject_type="enterprise",
        subject_id=enterprise.id,
        data={"title": enterprise.name, "text": enterprise.credit_code},
    )
    db.session.flush()
    return enterprise


def update_enterprise(
    enterprise: Enterprise, *, actor: User | None, expected_version: int | str | None, **fields
) -> Enterprise:
    check_version(enterprise, expected_version)
    before = timeline.snapshot(enterprise, TRACKED_FIELDS)
    old_units = list(enterprise.units)
    old_responsible = enterprise.responsible
    with db.session.no_autoflush:
        _apply(enterprise, fields)
        _check_units(actor, old_units, enterprise.units)
        _check_responsible(actor, old_responsible, enterprise.responsible, creating=False)
        if "credit_code" in fields and before["credit_code"] != enterprise.credit_code:
            _ensure_unique_code(enterprise.credit_code, exclude_id=enterprise.id)
    after = timeline.snapshot(enterprise, TRACKED_FIELDS)
    if before == after:
        return enterprise
    search.refresh_columns(enterprise)
    db.session.flush()
    if before["name"] != after["name"]:
        search.write_grams(enterprise)
    timeline.record_change(
        enterprise.id,
        "enterprise.updated",
        actor=actor,
        subject_type="enterprise",
        subject_id=enterprise.id,
        before=before,
        after=after,
        data={"title": enterprise.name},
    )
    db.session.flush()
    return enterprise


def delete_enterprise(enterprise: Enterprise, *, actor: User | None) -> None:
    if enterprise.deleted_at is not None:
        return
    enterprise.deleted_at = utcnow()
    enterprise.deleted_by_id = actor.id if actor else None
    db.session.flush()
    timeline.record(
        enterprise.id,
        "enterprise.deleted",
        actor=actor,
        subject_type="enterprise",
        subject_id=enterprise.id,
        data={"title": enterprise.name},
    )
    db.session.flush()


def restore_enterprise(enterprise: Enterprise, *, actor: User | None) -> None:
    if enterprise.deleted_at is None:
        return
    enterprise.deleted_at = None
    enterprise.deleted_by_id = None
    db.session.flush()
    timeline.record(
        enterprise.id,
        "enterprise.restored",
        actor=actor,
        subject_type="enterprise",
        subject_id=enterprise.id,
        data={"title": enterprise.name},
    )
    db.session.flush()


# -- the projects and policies in the file -----------------------------------------


def file_projects(enterprise: Enterprise) -> list[Project]:
    """The enterprise's live projects, newest first, in one query (the enterprise is loaded)."""
    stmt = (
        select(Project)
        .options(lazyload(Project.enterprise), lazyload(Project.industry))
        .where(Project.enterprise_id == enterprise.id, Project.deleted_at.is_(None))
        .order_by(Project.created_at.desc(), Project.id.desc())
    )
    return list(db.session.execute(stmt).scalars())


def file_policies(enterprise: Enterprise) -> list[Policy]:
    """The policy package (一企一策), newest first, with each policy's project, in one query."""
    stmt = (
        select(Policy)
        .options(
            joinedload(Policy.project).options(
                lazyload(Project.enterprise), lazyload(Project.industry)
            )
        )
        .where(Policy.enterprise_id == enterprise.id, Policy.deleted_at.is_(None))
        .order_by(Policy.created_at.desc(), Policy.id.desc())
    )
    return list(db.session.execute(stmt).scalars())


# -- similar names -----------------------------------------------------------------

_BRACKETED = re.compile(r"[（(【\[][^）)】\]]*[）)】\]]")
_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "分公司",
    "总公司",
    "集团",
    "公司",
    "co.,ltd.",
    "co.,ltd",
    "co.ltd",
    "ltd.",
    "ltd",
    "inc.",
    "inc",
)
_PUNCTUATION = re.compile(r"[\s\.,，、·\-_'\"“”‘’]+")
SIMILARITY = 0.85


def core_name(name: str) -> str:
    """The distinctive part of a name: without brackets, legal-form suffixes and spaces.

    内蒙古蒙牛乳业（集团）股份有限公司 -> 内蒙古蒙牛乳业.
    """
    text = _BRACKETED.sub("", name or "").lower()
    text = _PUNCTUATION.sub("", text)
    stripped = True
    while stripped:
        stripped = False
        for suffix in _SUFFIXES:
            suffix = _PUNCTUATION.sub("", suffix)
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                stripped = True
    return text


def names_similar(a: str, b: str) -> bool:
    core_a, core_b = core_name(a), core_name(b)
    if not core_a or not core_b:
        return False
    if core_a == core_b:
        return True
    shorter, longer = sorted((core_a, core_b), key=len)
    if len(shorter) >= 2 and shorter in longer:
        return True
    return SequenceMatcher(None, core_a, core_b).ratio() >= SIMILARITY


def find_similar(name: str, *, exclude_id: int | None = None, limit: int = 5) -> list[Enterprise]:
    """Live enterprises whose names look like the same firm (a warning, not an error)."""
    core = core_name(name)
    pieces = search.bigrams(core) or sorted(search.grams(core))
    if not pieces:
        return []
    shared = func.count().label("shared")
    stmt = (
        select(EnterpriseGram.enterprise_id, shared)
        .join(Enterprise, Enterprise.id == EnterpriseGram.enterprise_id)
        .where(EnterpriseGram.gram.in_(pieces[:20]), Enterprise.deleted_at.is_(None))
        .group_by(EnterpriseGram.enterprise_id)
        .order_by(shared.desc())
        .limit(50)
    )
    if exclude_id is not None:
        stmt = stmt.where(EnterpriseGram.enterprise_id != exclude_id)
    candidate_ids = [row[0] for row in db.session.execute(stmt)]
    if not candidate_ids:
        return []
    candidates = db.session.execute(
        select(Enterprise).where(Enterprise.id.in_(candidate_ids)).order_by(Enterprise.name)
    ).scalars()
    return [e for e in candidates if names_similar(name, e.name)][:limit]


__all__ = [
    "TRACKED_FIELDS",
    "check_new_code",
    "clean_credit_code",
    "core_name",
    "create_enterprise",
    "delete_enterprise",
    "duplicate_after_race",
    "file_policies",
    "file_projects",
    "find_similar",
    "names_similar",
    "restore_enterprise",
    "update_enterprise",
]
