"""The figures: rates, target completion and the ranking, computed in the database.

Definitions (DOMAIN.md, "Targets, rates and the monthly ranking"). For a year
and a month, the period runs from 1 January to the month's last day:

- signed: projects that count (see ``counted``) signed in the period;
- landing rate 落地率 = signed that had landed by the period's end / signed;
- start rate 开工率 = signed that had started construction by then / signed;
- completion rate 建成率 = signed that were producing by then / signed;
- performance rate 履约率 = signed performing on schedule / signed, where a
  project is off schedule when its committed start date has passed without it
  having started by that date, when a policy granted for it was clawed back,
  or when it was terminated;
- funds-in-place rate 资金到位率 = funds in place up to the period's end for the
  signed projects with a contract amount / their contract amount;
- out-of-province funds 省外到位资金: funds entries from outside the province
  for months in the period, of every counted project (whenever it was signed);
- completion of target = actual / target, per metric; the ranking orders units
  by the mean completion of the metrics they have a target for;
- schedule 序时进度 = month / 12.

Every rate is ``None`` when its denominator is zero: shown as "—", never 0%.
Every figure is one grouped aggregate over ``project`` (and ``funds_entry``);
nothing loads projects into Python.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.sql.util import find_tables

from crm.extensions import db
from crm.models import (
    CountingRule,
    Enterprise,
    FundsEntry,
    OrgUnit,
    Policy,
    PolicyStatus,
    Project,
    ProjectStage,
    StallThreshold,
    Target,
    UnitKind,
    project_funds_year,
)
from crm.projects import funds_rollup

ZERO = Decimal(0)

# Days without progress after which a project is stalled, unless an admin set
# other values (defaults many bureaus use).
DEFAULT_STALL_DAYS = {
    ProjectStage.NEGOTIATION: 30,
    ProjectStage.SIGNED: 20,
    ProjectStage.LANDED: 15,
}

# The unit kinds ranked in the monthly report, and the project column naming each.
RANKED_KINDS = (UnitKind.COUNTY, UnitKind.TASK_FORCE)
GROUP_COLUMN = {
    UnitKind.COUNTY: Project.county_id,
    UnitKind.TASK_FORCE: Project.task_force_id,
}


@dataclass(frozen=True)
class Period:
    """From 1 January of ``year`` to the last day of ``month``."""

    year: int
    month: int

    def __post_init__(self):
        if not 1 <= self.month <= 12 or not 2000 <= self.year <= 2100:
            raise ValueError(f"no such period: {self.year}-{self.month}")

    @classmethod
    def containing(cls, day: date) -> Period:
        return cls(day.year, day.month)

    @property
    def start(self) -> date:
        return date(self.year, 1, 1)

    @property
    def end(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def month_start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def quarter_start(self) -> date:
        return date(self.year, (self.month - 1) // 3 * 3 + 1, 1)

    @property
    def schedule(self) -> Decimal:
        """序时进度: the share of the year's target due by the end of this month."""
        return Decimal(self.month) / Decimal(12)

    @property
    def key(self) -> str:
        return f"{self.year}-{self.month:02d}"


def ratio(numerator, denominator) -> Decimal | None:
    if denominator is None or denominator == 0:
        return None
    return Decimal(numerator or 0) / Decimal(denominator)


# -- which projects count ------------------------------------------------------------
def counting_rule(year: int) -> CountingRule | None:
    return db.session.execute(
        select(CountingRule).where(CountingRule.year == year)
    ).scalar_one_or_none()


def counted(rule: CountingRule | None, period: Period) -> list[ColumnElement[bool]]:
    """Conditions on Project for the projects that count (live enterprises: see ``_from``)."""
    conditions: list[ColumnElement[bool]] = [Project.deleted_at.is_(None)]
    if rule is None:
        return conditions
    if rule.min_contract_amount_wan is not None:
        conditions.append(Project.contract_amount_wan >= rule.min_contract_amount_wan)
    excluded = [industry.id for industry in rule.excluded_industries]
    if excluded:
        conditions.append(or_(Project.industry_id.is_(None), Project.industry_id.not_in(excluded)))
    if not rule.count_terminated:
        conditions.append(or_(Project.terminated_on.is_(None), Project.terminated_on > period.end))
    return conditions


def _performing(period: Period) -> ColumnElement:
    """1 when a signed project keeps its commitments as of the period's end, else 0."""
    late_start = and_(
        Project.planned_start_on <= period.end,
        or_(Project.started_on.is_(None), Project.started_on > Project.planned_start_on),
    )
    clawed_back = exists().where(
        Policy.project_id == Project.id,
        Policy.status == PolicyStatus.CLAWED_BACK,
        Policy.deleted_at.is_(None),
    )
    terminated = Project.terminated_on <= period.end
    return case((terminated, 0), (late_start, 0), (clawed_back, 0), else_=1)


def _by(day_column, period: Period) -> ColumnElement:
    return case((day_column <= period.end, 1), else_=0)


# -- figures of a group of projects ----------------------------------------------------
@dataclass
class Figures:
    signed: int = 0
    signed_amount_wan: Decimal = ZERO
    landed: int = 0
    started: int = 0
    producing: int = 0
    performing: int = 0
    key_signed: int = 0
    funded_amount_wan: Decimal = ZERO  # contract amount of signed projects with one
    funds_of_signed_wan: Decimal = ZERO  # funds in place so far for those
    funds_wan: Decimal = ZERO  # funds reported for the period's months, every source
    out_of_province_funds_wan: Decimal = ZERO
    target_projects: int | None = None
    target_amount_wan: Decimal | None = None
    target_out_of_province_funds_wan: Decimal | None = None
    schedule: Decimal = ZERO

    def add(self, other: Figures) -> None:
        """Add another group's counts and amounts (targets and schedule stay)."""
        for name in ADDABLE_NAMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def landing_rate(self) -> Decimal | None:
        return ratio(self.landed, self.signed)

    @property
    def start_rate(self) -> Decimal | None:
        return ratio(self.started, self.signed)

    @property
    def completion_rate(self) -> Decimal | None:
        return ratio(self.producing, self.signed)

    @property
    def performance_rate(self) -> Decimal | None:
        return ratio(self.performing, self.signed)

    @property
    def funds_rate(self) -> Decimal | None:
        return ratio(self.funds_of_signed_wan, self.funded_amount_wan)

    @property
    def projects_completion(self) -> Decimal | None:
        return ratio(self.signed, self.target_projects)

    @property
    def amount_completion(self) -> Decimal | None:
        return ratio(self.signed_amount_wan, self.target_amount_wan)

    @property
    def funds_completion(self) -> Decimal | None:
        return ratio(self.out_of_province_funds_wan, self.target_out_of_province_funds_wan)

    @property
    def score(self) -> Decimal | None:
        """Mean completion over the metrics that have a target: what the ranking orders by."""
        parts = [
            value
            for value in (self.projects_completion, self.amount_completion, self.funds_completion)
            if value is not None
        ]
        if not parts:
            return None
        return sum(parts, ZERO) / len(parts)

    @property
    def behind_schedule(self) -> bool | None:
        return None if self.score is None else self.score < self.schedule

    def as_dict(self) -> dict[str, str | int | None]:
        """Every figure as exact text (frozen into a published report)."""
        out: dict[str, str | int | None] = {}
        for name in FIGURE_NAMES:
            value = getattr(self, name)
            out[name] = str(value) if isinstance(value, Decimal) else value
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Figures:
        figures = cls()
        for name in STORED_NAMES:
            if name not in data:
                continue
            value = data[name]
            if isinstance(getattr(cls, name, None), property):
                continue
            if value is not None and name not in INT_NAMES:
                value = Decimal(value)
            setattr(figures, name, value)
        return figures


# What a group of projects adds up (counts and amounts) ...
ADDABLE_NAMES = [
    "signed",
    "signed_amount_wan",
    "landed",
    "started",
    "producing",
    "performing",
    "key_signed",
    "funded_amount_wan",
    "funds_of_signed_wan",
    "funds_wan",
    "out_of_province_funds_wan",
]
# ... and what a published report keeps besides: the targets and the schedule.
STORED_NAMES = ADDABLE_NAMES + [
    "target_projects",
    "target_amount_wan",
    "target_out_of_province_funds_wan",
    "schedule",
]
INT_NAMES = {"signed", "landed", "started", "producing", "performing", "key_signed"}
INT_NAMES |= {"target_projects"}
DERIVED_NAMES = [
    "landing_rate",
    "start_rate",
    "completion_rate",
    "performance_rate",
    "funds_rate",
    "projects_completion",
    "amount_completion",
    "funds_completion",
    "score",
]
FIGURE_NAMES = STORED_NAMES + DERIVED_NAMES


def _needs_enterprise(scope: ColumnElement[bool] | None) -> bool:
    return scope is not None and Enterprise.__table__ in find_tables(scope, check_columns=True)


def _from(stmt, scope: ColumnElement[bool] | None, *, start=None):
    """``stmt`` over projects (joined from ``start`` when given) of live enterprises.

    The reader's scope may test enterprise columns, and then the enterprise is
    joined; for readers who see everything it is not: excluding the few deleted
    enterprises by id saves a lookup per project (a third of a dashboard's time
    on SQLite at 100,000 projects).
    """
    if start is not None:
        stmt = stmt.select_from(start).join(Project, Project.id == start.c.project_id)
    else:
        stmt = stmt.select_from(Project)
    if _needs_enterprise(scope):
        return stmt.join(Enterprise, Enterprise.id == Project.enterprise_id).where(
            Enterprise.deleted_at.is_(None)
        )
    deleted = select(Enterprise.id).where(Enterprise.deleted_at.is_not(None))
    return stmt.where(Project.enterprise_id.not_in(deleted))


GroupKey = int | None | tuple


def grouped_figures(
    period: Period,
    group_by: ColumnElement | tuple[ColumnElement, ...] | None,
    scope: ColumnElement[bool] | None = None,
) -> dict[GroupKey, Figures]:
    """Figures per value of ``group_by`` for the period: two grouped aggregates.

    ``group_by`` is a column (keys are its values), a tuple of columns (keys are
    tuples) or None (one group, key None). ``scope`` narrows the projects (the
    reader's access, a unit's subtree).
    """
    rule = counting_rule(period.year)
    where = counted(rule, period)
    if scope is not None:
        where.append(scope)
    if group_by is None:
        columns: tuple[ColumnElement, ...] = (literal(None),)
    elif isinstance(group_by, tuple):
        columns = group_by
    else:
        columns = (group_by,)
    width = len(columns)

    def key_of(row) -> GroupKey:
        return tuple(row[:width]) if width > 1 else row[0]

    keys = [column.label(f"k{index}") for index, column in enumerate(columns)]
    results: dict[GroupKey, Figures] = defaultdict(lambda: Figures(schedule=period.schedule))

    # The projects signed in the period, each with its funds in place so far (a
    # per-project sum first, so each contract amount counts once in the rate).
    funds_so_far = (
        select(func.coalesce(func.sum(FundsEntry.amount_wan), 0))
        .where(FundsEntry.project_id == Project.id, FundsEntry.month <= period.end)
        .scalar_subquery()
    )
    signed = (
        _from(
            select(
                *keys,
                Project.contract_amount_wan.label("amount"),
                _by(Project.landed_on, period).label("landed"),
                _by(Project.started_on, period).label("started"),
                _by(Project.producing_on, period).label("producing"),
                _performing(period).label("performing"),
                case((Project.is_key, 1), else_=0).label("key"),
                case((Project.contract_amount_wan.is_not(None), funds_so_far), else_=0).label(
                    "funds"
                ),
            ),
            scope,
        )
        .where(*where, Project.signed_on.between(period.start, period.end))
        .subquery()
    )
    group = [signed.c[f"k{index}"] for index in range(width)]
    signed_rows = db.session.execute(
        select(
            *group,
            func.count(),
            func.coalesce(func.sum(signed.c.amount), 0),
            func.sum(signed.c.landed),
            func.sum(signed.c.started),
            func.sum(signed.c.producing),
            func.sum(signed.c.performing),
            func.sum(signed.c.key),
            func.coalesce(func.sum(signed.c.funds), 0),
        ).group_by(*group)
    )
    for row in signed_rows:
        count, amount, landed, started, producing, performing, key_signed, funds = row[width:]
        figures = results[key_of(row)]
        figures.signed = count
        figures.signed_amount_wan = _wan(amount)
        figures.funded_amount_wan = figures.signed_amount_wan  # projects without one add 0
        figures.landed = int(landed or 0)
        figures.started = int(started or 0)
        figures.producing = int(producing or 0)
        figures.performing = int(performing or 0)
        figures.key_signed = int(key_signed or 0)
        figures.funds_of_signed_wan = _wan(funds)

    # Funds reported for the months of the period, whenever signed: one row per
    # project from the month-cumulative yearly totals (crm.projects.funds_rollup).
    total_to_month = funds_rollup.total_column(period.month)
    oop_to_month = funds_rollup.oop_column(period.month)
    funds_rows = db.session.execute(
        _from(
            select(*keys, func.sum(total_to_month), func.sum(oop_to_month)),
            scope,
            start=project_funds_year,
        )
        .where(*where, project_funds_year.c.year == period.year)
        .group_by(*keys)
    )
    for row in funds_rows:
        total, oop = row[width:]
        figures = results[key_of(row)]
        figures.funds_wan = _wan(total)
        figures.out_of_province_funds_wan = _wan(oop)
    return dict(results)


def _wan(value) -> Decimal:
    """A sum read back from SQL. Sums of WanAmount columns come back as Decimal 万元
    through the column type; anything else means a query lost that type, which
    would silently read yuan as 万元, so it fails loudly instead."""
    if value is None:
        return ZERO
    if not isinstance(value, Decimal):
        raise TypeError(f"amount sum lost its type: {value!r}")
    return value


def attach_targets(figures: dict[int, Figures], year: int) -> None:
    targets = db.session.execute(
        select(Target).where(Target.year == year, Target.unit_id.in_(list(figures) or [0]))
    ).scalars()
    for target in targets:
        row = figures[target.unit_id]
        row.target_projects = target.new_projects
        row.target_amount_wan = target.contract_amount_wan
        row.target_out_of_province_funds_wan = target.out_of_province_funds_wan


def total_figures(period: Period, scope: ColumnElement[bool] | None = None) -> Figures:
    """One set of figures for every project in ``scope``; targets are the sum of the counties'."""
    figures = grouped_figures(period, None, scope).get(None) or Figures(schedule=period.schedule)
    return figures


def city_targets(year: int) -> tuple[int | None, Decimal | None, Decimal | None]:
    """The city's targets: the sum of the counties' (each project belongs to one county)."""
    row = db.session.execute(
        select(
            func.sum(Target.new_projects),
            func.sum(Target.contract_amount_wan),
            func.sum(Target.out_of_province_funds_wan),
        )
        .join(OrgUnit, OrgUnit.id == Target.unit_id)
        .where(Target.year == year, OrgUnit.kind == UnitKind.COUNTY)
    ).one()
    return row[0], row[1], row[2]


# -- the ranking ------------------------------------------------------------------------
@dataclass
class RankRow:
    unit_id: int | None
    unit_name: str
    unit_kind: str
    figures: Figures
    rank: int | None = None
    published: Figures | None = None  # the frozen figures, when comparing with a report
    differences: list[str] = field(default_factory=list)


def ranked_units(kind: UnitKind) -> list[OrgUnit]:
    return list(
        db.session.execute(
            select(OrgUnit)
            .where(OrgUnit.kind == kind, OrgUnit.is_active.is_(True))
            .order_by(OrgUnit.sort_order, OrgUnit.path)
        ).scalars()
    )


def rankings(
    period: Period, kinds: tuple[UnitKind, ...] = RANKED_KINDS
) -> dict[UnitKind, list[RankRow]]:
    """Every active unit of each kind, ranked by target completion (ties share a rank).

    One pass groups by the pair (county, task force); each kind's figures are the
    sums over the other column — a few hundred aggregate rows, added up here.
    """
    combined = grouped_figures(period, tuple(GROUP_COLUMN[kind] for kind in kinds))
    out = {}
    for index, kind in enumerate(kinds):
        units = ranked_units(kind)
        by_unit: dict[int, Figures] = {unit.id: Figures(schedule=period.schedule) for unit in units}
        for key, part in combined.items():
            unit_id = key[index] if isinstance(key, tuple) else key
            if unit_id in by_unit:
                by_unit[unit_id].add(part)
        attach_targets(by_unit, period.year)
        rows = [RankRow(unit.id, unit.name, kind.value, by_unit[unit.id]) for unit in units]
        out[kind] = assign_ranks(rows)
    return out


def ranking(period: Period, kind: UnitKind) -> list[RankRow]:
    """One kind's ranking (see ``rankings``)."""
    return rankings(period, (kind,))[kind]


def assign_ranks(rows: list[RankRow]) -> list[RankRow]:
    """Order by score (highest first; no target: unranked, last), then signed amount."""
    order = {id(row): index for index, row in enumerate(rows)}
    rows.sort(
        key=lambda row: (
            row.figures.score is None,
            -(row.figures.score or ZERO),
            -row.figures.signed_amount_wan,
            order[id(row)],
        )
    )
    previous = None
    for position, row in enumerate(rows, start=1):
        score = row.figures.score
        if score is None:
            row.rank = None
            continue
        if previous is not None and previous.figures.score == score:
            row.rank = previous.rank
        else:
            row.rank = position
        previous = row
    return rows


# -- the dashboard's lists and counts ---------------------------------------------------------
def live(scope: ColumnElement[bool] | None) -> list[ColumnElement[bool]]:
    conditions = [Project.deleted_at.is_(None)]
    if scope is not None:
        conditions.append(scope)
    return conditions


@dataclass
class Overview:
    """The dashboard's counts, from one pass over the projects in scope."""

    stages: dict[ProjectStage, int]
    signed: dict[str, tuple[int, Decimal]]  # this month / quarter / year: count, amount
    monthly: list[tuple[int, Decimal]]  # signed per month of the period's year
    key_total: int
    stalled_total: int


def overview(scope: ColumnElement[bool] | None, period: Period, today: date) -> Overview:
    """Projects by stage, signed this month/quarter/year and per month, key and stalled
    counts.

    Readers who see everything get four narrow queries, each served by an index
    (by stage and stalled: ix_project_live_stage; key: ix_project_key; signing:
    the year's signed projects). A reader whose scope tests the enterprise must
    scan the projects anyway, so for them it is one pass of CASE columns instead
    of four scans.
    """
    signed_columns, read_signed = _signed_columns(period)
    if _needs_enterprise(scope):
        key = case((and_(Project.is_key, Project.stage != ProjectStage.TERMINATED), 1), else_=0)
        stalled = case((stalled_condition(today), 1), else_=0)
        stages = list(ProjectStage)
        by_stage = [func.sum(case((Project.stage == stage, 1), else_=0)) for stage in stages]
        values = iter(
            db.session.execute(
                _from(
                    select(*by_stage, func.sum(key), func.sum(stalled), *signed_columns), scope
                ).where(*live(scope))
            ).one()
        )
        stage_counts = {stage: int(next(values) or 0) for stage in stages}
        key_total, stalled_total = int(next(values) or 0), int(next(values) or 0)
        signed, monthly = read_signed(values)
        return Overview(stage_counts, signed, monthly, key_total, stalled_total)
    values = iter(
        db.session.execute(
            _from(select(*signed_columns), scope).where(
                *live(scope), Project.signed_on.between(period.start, date(period.year, 12, 31))
            )
        ).one()
    )
    signed, monthly = read_signed(values)
    return Overview(
        stages=_stage_counts(scope),
        signed=signed,
        monthly=monthly,
        key_total=_count(scope, Project.is_key, Project.stage != ProjectStage.TERMINATED),
        stalled_total=_count(scope, stalled_condition(today)),
    )


def _count(scope, *conditions) -> int:
    stmt = _from(select(func.count()), scope).where(*live(scope), *conditions)
    return db.session.execute(stmt).scalar_one()


def _stage_counts(scope) -> dict[ProjectStage, int]:
    rows = db.session.execute(
        _from(select(Project.stage, func.count()), scope)
        .where(*live(scope))
        .group_by(Project.stage)
    )
    counts = {stage: 0 for stage in ProjectStage}
    for stage, count in rows:
        counts[ProjectStage(stage)] = count
    return counts


def _signed_columns(period: Period):
    """CASE sums of the counted projects signed this month, quarter and year (to the
    period's end) and in each month of the year, and a reader for their values."""
    counts = and_(*counted(counting_rule(period.year), period))
    ranges = {"month": period.month_start, "quarter": period.quarter_start, "year": period.start}
    months = [Period(period.year, m) for m in range(1, 13)]

    def count_and_amount(start: date, end: date):
        inside = and_(counts, Project.signed_on >= start, Project.signed_on <= end)
        return [
            func.coalesce(func.sum(case((inside, 1), else_=0)), 0),
            func.coalesce(func.sum(case((inside, Project.contract_amount_wan), else_=0)), 0),
        ]

    columns = []
    for start in ranges.values():
        columns += count_and_amount(start, period.end)
    for month in months:
        columns += count_and_amount(month.month_start, month.end)

    def read(values):
        signed = {name: (int(next(values)), _wan(next(values))) for name in ranges}
        monthly = [(int(next(values)), _wan(next(values))) for _month in months]
        return signed, monthly

    return columns, read


def stall_thresholds() -> tuple[dict[ProjectStage, int], dict[ProjectStage, dict[int, int]]]:
    """The city's days per stage (defaults overridden by admins) and each county's own."""
    city = dict(DEFAULT_STALL_DAYS)
    by_unit: dict[ProjectStage, dict[int, int]] = defaultdict(dict)
    for row in db.session.execute(select(StallThreshold)).scalars():
        if row.unit_id is None:
            city[row.stage] = row.days
        else:
            by_unit[row.stage][row.unit_id] = row.days
    return city, by_unit


def stalled_condition(today: date) -> ColumnElement[bool]:
    """Projects whose last progress is longer ago than their stage allows (the county's
    own threshold when it has one, else the city's)."""
    city, by_unit = stall_thresholds()
    per_stage = []
    for stage in set(city) | set(by_unit):
        overrides = by_unit.get(stage, {})
        options = []
        days_groups: dict[int, list[int]] = defaultdict(list)
        for unit_id, days in overrides.items():
            days_groups[days].append(unit_id)
        for days, unit_ids in days_groups.items():
            options.append(
                and_(
                    Project.county_id.in_(unit_ids),
                    Project.last_progress_on < today - timedelta(days=days),
                )
            )
        if stage in city:
            rest = true()
            if overrides:
                rest = or_(Project.county_id.is_(None), Project.county_id.not_in(list(overrides)))
            options.append(
                and_(rest, Project.last_progress_on < today - timedelta(days=city[stage]))
            )
        if options:
            per_stage.append(and_(Project.stage == stage, or_(*options)))
    return or_(*per_stage) if per_stage else false()


def stalled_projects(scope, today: date, limit: int = 20) -> list[Project]:
    """The longest-stalled projects first (how many there are: ``overview``)."""
    return list(
        db.session.execute(
            _from(select(Project), scope)
            .where(*live(scope), stalled_condition(today))
            .order_by(Project.last_progress_on, Project.id)
            .limit(limit)
        ).scalars()
    )


def key_projects(scope, limit: int = 20) -> list[Project]:
    """Key projects (≥ 10 亿元) still going, largest first (how many: ``overview``)."""
    return list(
        db.session.execute(
            _from(select(Project), scope)
            .where(*live(scope), Project.is_key, Project.stage != ProjectStage.TERMINATED)
            .order_by(Project.contract_amount_wan.desc(), Project.id)
            .limit(limit)
        ).scalars()
    )


__all__ = [
    "Figures",
    "Period",
    "RankRow",
    "assign_ranks",
    "city_targets",
    "counted",
    "counting_rule",
    "grouped_figures",
    "key_projects",
    "ranking",
    "rankings",
    "Overview",
    "overview",
    "stalled_condition",
    "stalled_projects",
    "total_figures",
]
