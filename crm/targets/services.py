"""Yearly targets, counting rules and stall thresholds: what admins set as data.

Verb functions that validate, change and flush; the view commits. Each returns
the changes it made (unit, field, old → new). Targets and rules have no
enterprise, so they have no place in an enterprise's file: every change is
written to the ``crm.audit`` log (who, when, old → new), and the rows keep
``updated_at`` and ``version`` (optimistic locking: a grid opened before
someone else's save is refused rather than silently overwriting it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.errors import ServiceError, StaleEditError
from crm.extensions import db
from crm.labels import PROJECT_STAGE
from crm.models import CountingRule, Industry, OrgUnit, StallThreshold, Target, UnitKind, User
from crm.projects.figures import DEFAULT_STALL_DAYS, RANKED_KINDS
from crm.projects.services import check_amount
from crm.records import STALE_MESSAGE, check_version
from crm.targets.forms import (
    CONTRACT_AMOUNT,
    MAX_PROJECTS,
    MAX_STALL_DAYS,
    NEW_PROJECTS,
    OUT_OF_PROVINCE_FUNDS,
)

audit = logging.getLogger("crm.audit")

MIN_YEAR, MAX_YEAR = 2000, 2100
TARGET_FIELDS = {
    "new_projects": NEW_PROJECTS,
    "contract_amount_wan": CONTRACT_AMOUNT,
    "out_of_province_funds_wan": OUT_OF_PROVINCE_FUNDS,
}
STALL_STAGES = tuple(DEFAULT_STALL_DAYS)  # negotiation, signed, landed


def row_error(unit_name: str, field_label, error):
    """One refused cell of a grid, naming the unit's row and the field."""
    return _l("%(unit)s — %(field)s: %(error)s", unit=unit_name, field=field_label, error=error)


@dataclass
class Change:
    unit: str
    field: str
    old: object
    new: object


def _log(kind: str, year: int | None, actor: User | None, changes: list[Change]) -> None:
    for change in changes:
        audit.info(
            "%s %s: %s · %s: %s -> %s (by user %s)",
            kind,
            year if year is not None else "-",
            change.unit,
            change.field,
            change.old,
            change.new,
            actor.id if actor else None,
        )


def check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ServiceError(_l("Choose a year from 2000 to 2100."), "year")


# -- targets ----------------------------------------------------------------------------
def target_units() -> list[OrgUnit]:
    """The units that get targets: active counties, then active task forces."""
    units = []
    for kind in RANKED_KINDS:
        units += db.session.execute(
            select(OrgUnit)
            .where(OrgUnit.kind == kind, OrgUnit.is_active.is_(True))
            .order_by(OrgUnit.sort_order, OrgUnit.path)
        ).scalars()
    return units


def targets_of_year(year: int) -> dict[int, Target]:
    rows = db.session.execute(select(Target).where(Target.year == year)).scalars()
    return {target.unit_id: target for target in rows}


@dataclass
class TargetEntry:
    """One row of the grid as typed: ``version`` is the target's version when the grid was shown."""

    unit: OrgUnit
    version: str | None
    new_projects: int | None
    contract_amount_wan: Decimal | None
    out_of_province_funds_wan: Decimal | None


def _check_entry(entry: TargetEntry) -> None:
    unit = entry.unit
    if unit.kind not in RANKED_KINDS:
        raise ServiceError(_l("Targets are set for counties and task forces only."))
    projects = entry.new_projects
    if projects is not None and (
        not isinstance(projects, int) or not 0 <= projects <= MAX_PROJECTS
    ):
        raise ServiceError(row_error(unit.name, NEW_PROJECTS, _l("Enter a whole number.")))
    for name in ("contract_amount_wan", "out_of_province_funds_wan"):
        try:
            check_amount(getattr(entry, name), name)
        except ServiceError as error:
            raise ServiceError(row_error(unit.name, TARGET_FIELDS[name], error.message)) from None


def save_targets(year: int, entries: list[TargetEntry], *, actor: User | None) -> list[Change]:
    """Set the year's targets of the units in ``entries`` (all or nothing).

    An empty cell means "no target for that metric" (the unit is ranked on the
    others; with none at all it is not ranked). Rows that did not change are left
    alone; a changed row whose target was saved by someone else since the grid
    was shown is refused (StaleEditError).
    """
    check_year(year)
    for entry in entries:
        _check_entry(entry)
    existing = targets_of_year(year)
    changes: list[Change] = []
    for entry in entries:
        target = existing.get(entry.unit.id)
        new = {name: getattr(entry, name) for name in TARGET_FIELDS}
        old = {name: getattr(target, name) if target else None for name in TARGET_FIELDS}
        if new == old:
            continue
        if target is None:
            if entry.version:  # shown as saved, gone since: cannot happen, but never guess
                raise StaleEditError(STALE_MESSAGE)
            target = Target(year=year, unit_id=entry.unit.id)
            db.session.add(target)
        else:
            check_version(target, entry.version, allow_missing=False)
        for name, value in new.items():
            if value != old[name]:
                setattr(target, name, value)
                changes.append(Change(entry.unit.name, name, old[name], value))
    try:
        db.session.flush()
    except IntegrityError:
        # Another admin created the same unit's target meanwhile (unique year, unit).
        raise StaleEditError(STALE_MESSAGE) from None
    _log("targets", year, actor, changes)
    return changes


# -- counting rules ------------------------------------------------------------------
def industries_for_rules(rule: CountingRule | None) -> list[Industry]:
    """Active industries, plus any the rule excludes that have since been deactivated."""
    rows = list(
        db.session.execute(
            select(Industry)
            .where(Industry.is_active.is_(True))
            .order_by(Industry.sort_order, Industry.name)
        ).scalars()
    )
    if rule is not None:
        rows += [industry for industry in rule.excluded_industries if industry not in rows]
    return rows


def save_counting_rule(
    year: int,
    *,
    actor: User | None,
    expected_version,
    min_contract_amount_wan: Decimal | None,
    excluded_industries: list[Industry],
    count_terminated: bool,
    landing_rate_goal_pct: int | None,
    start_rate_goal_pct: int | None,
) -> tuple[CountingRule, list[Change]]:
    """Create or change the year's counting rule (which projects count for the figures)."""
    check_year(year)
    check_amount(min_contract_amount_wan, "min_contract_amount_wan")
    for name, value in (
        ("landing_rate_goal_pct", landing_rate_goal_pct),
        ("start_rate_goal_pct", start_rate_goal_pct),
    ):
        if value is not None and not 0 <= value <= 100:
            raise ServiceError(_l("Enter a percentage from 0 to 100."), name)
    rule = db.session.execute(
        select(CountingRule).where(CountingRule.year == year)
    ).scalar_one_or_none()
    if rule is None:
        rule = CountingRule(year=year, count_terminated=True, excluded_industries=[])
        db.session.add(rule)
        before = {}
    else:
        check_version(rule, expected_version, allow_missing=False)
        before = _rule_snapshot(rule)
    rule.min_contract_amount_wan = min_contract_amount_wan
    rule.excluded_industries = sorted(excluded_industries, key=lambda i: i.name)
    rule.count_terminated = bool(count_terminated)
    rule.landing_rate_goal_pct = landing_rate_goal_pct
    rule.start_rate_goal_pct = start_rate_goal_pct
    after = _rule_snapshot(rule)
    changes = [
        Change(str(year), name, before.get(name), value)
        for name, value in after.items()
        if before.get(name) != value
    ]
    try:
        db.session.flush()
    except IntegrityError:
        raise StaleEditError(STALE_MESSAGE) from None
    _log("counting rule", year, actor, changes)
    return rule, changes


def _rule_snapshot(rule: CountingRule) -> dict:
    return {
        "min_contract_amount_wan": rule.min_contract_amount_wan,
        "excluded_industries": sorted(i.name for i in rule.excluded_industries),
        "count_terminated": bool(rule.count_terminated),
        "landing_rate_goal_pct": rule.landing_rate_goal_pct,
        "start_rate_goal_pct": rule.start_rate_goal_pct,
    }


# -- stall thresholds ----------------------------------------------------------------
def threshold_units() -> list[OrgUnit]:
    """Counties may have their own thresholds (the stall check goes by a project's county)."""
    return list(
        db.session.execute(
            select(OrgUnit)
            .where(OrgUnit.kind == UnitKind.COUNTY, OrgUnit.is_active.is_(True))
            .order_by(OrgUnit.sort_order, OrgUnit.path)
        ).scalars()
    )


def stored_thresholds() -> dict[int | None, dict[str, int]]:
    """Days per stage as stored: key None is the city, else a county's id."""
    out: dict[int | None, dict[str, int]] = {}
    for row in db.session.execute(select(StallThreshold)).scalars():
        out.setdefault(row.unit_id, {})[row.stage.value] = row.days
    return out


def city_days() -> dict[str, int]:
    """The city's days per stage: what an admin saved, else the defaults."""
    stored = stored_thresholds().get(None, {})
    return {
        stage.value: stored.get(stage.value, DEFAULT_STALL_DAYS[stage]) for stage in STALL_STAGES
    }


def _check_days(value, unit_name: str, stage) -> None:
    if value is None:
        return
    if not isinstance(value, int) or not 1 <= value <= MAX_STALL_DAYS:
        raise ServiceError(
            row_error(
                unit_name,
                PROJECT_STAGE[stage],
                _l("Enter a number from %(low)s to %(high)s.", low=1, high=MAX_STALL_DAYS),
            )
        )


def save_stall_thresholds(
    city: dict[str, int | None],
    counties: dict[int, dict[str, int | None]],
    *,
    actor: User | None,
) -> list[Change]:
    """Set the city's days per stage (all required) and each county's (None: the city's)."""
    city_name = str(_l("City default"))
    units = {unit.id: unit for unit in threshold_units()}
    for stage in STALL_STAGES:
        if city.get(stage.value) is None:
            raise ServiceError(row_error(city_name, PROJECT_STAGE[stage], _l("Enter a number.")))
        _check_days(city[stage.value], city_name, stage)
    for unit_id, days in counties.items():
        if unit_id not in units:
            raise ServiceError(_l("Thresholds are set for counties only."))
        for stage in STALL_STAGES:
            _check_days(days.get(stage.value), units[unit_id].name, stage)

    rows = {
        (row.unit_id, row.stage.value): row
        for row in db.session.execute(select(StallThreshold)).scalars()
    }
    changes: list[Change] = []

    def put(unit_id: int | None, name: str, stage, days: int | None) -> None:
        row = rows.get((unit_id, stage.value))
        old = row.days if row else None
        if unit_id is None and row is None:
            old = DEFAULT_STALL_DAYS[stage]  # the city's effective value until saved
            if days == old:
                return
        if old == days:
            return
        if days is None:
            db.session.delete(row)
        elif row is None:
            db.session.add(StallThreshold(unit_id=unit_id, stage=stage, days=days))
        else:
            row.days = days
        changes.append(Change(name, stage.value, old, days))

    for stage in STALL_STAGES:
        put(None, city_name, stage, city[stage.value])
    for unit_id, days in counties.items():
        for stage in STALL_STAGES:
            put(unit_id, units[unit_id].name, stage, days.get(stage.value))
    try:
        db.session.flush()
    except IntegrityError:
        raise StaleEditError(STALE_MESSAGE) from None
    _log("stall thresholds", None, actor, changes)
    return changes
