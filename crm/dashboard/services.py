"""What a dashboard shows: the figures of a scope for a period, and the series its charts draw.

Every number comes from ``crm.projects.figures`` (SQL aggregates); nothing here
counts or divides rows in Python. A dashboard costs a fixed number of queries,
whatever the number of projects: the lists are limited, and the counties of the
listed projects are loaded in one query (their enterprises come joined).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, select

from crm import labels
from crm.extensions import db
from crm.models import CountingRule, OrgUnit, Project, ProjectStage, UnitKind
from crm.projects import figures as fig
from crm.projects.figures import Figures, Period

LIST_LIMIT = 20
# From this many 万元 up, chart amounts are drawn in 亿元 (1 亿元 = 10,000 万元).
YI_WAN = Decimal(10000)

RATE_LABELS = {
    "landing_rate": _l("Landing rate"),
    "start_rate": _l("Start rate"),
    "completion_rate": _l("Completion rate"),
    "funds_rate": _l("Funds-in-place rate"),
    "performance_rate": _l("Performance rate"),
}
TARGET_LABELS = {
    "projects": _l("New signed projects"),
    "amount": _l("Signed contract amount"),
    "out_of_province_funds": _l("Out-of-province funds in place"),
}


@dataclass
class Rate:
    key: str
    label: str
    value: Decimal | None  # None: nothing to divide by, shown as "—"
    numerator: Decimal | int
    denominator: Decimal | int
    goal: Decimal | None = None  # the city's goal as a fraction (CountingRule, in percent)

    @property
    def below_goal(self) -> bool:
        return self.goal is not None and self.value is not None and self.value < self.goal


@dataclass
class TargetLine:
    key: str
    label: str
    actual: Decimal | int
    target: Decimal | int | None
    completion: Decimal | None
    is_amount: bool


@dataclass
class Listed:
    project: Project
    days_since_progress: int


@dataclass
class Dashboard:
    period: Period
    today: date
    unit: OrgUnit | None
    stages: dict[ProjectStage, int]
    signed: dict[str, tuple[int, Decimal]]
    figures: Figures
    rates: list[Rate]
    targets: list[TargetLine]
    targets_apply: bool  # False: the reader's scope is not one the targets belong to
    key_total: int
    key_projects: list[Listed]
    stalled_total: int
    stalled_projects: list[Listed]
    monthly: list[tuple[int, Decimal]]
    month_names: list[str] = field(default_factory=list)

    @property
    def schedule(self) -> Decimal:
        return self.period.schedule

    @property
    def has_targets(self) -> bool:
        return any(line.target is not None for line in self.targets)

    def behind(self, line: TargetLine) -> bool:
        return line.completion is not None and line.completion < self.schedule

    @property
    def total_projects(self) -> int:
        return sum(self.stages.values())

    @property
    def signed_year_count(self) -> int:
        return self.signed["year"][0]

    def chart_data(self) -> dict:
        """The charts' series as plain JSON (translated names included)."""
        return chart_data(self)


def _rates(figures: Figures, rule: CountingRule | None) -> list[Rate]:
    goals = {
        "landing_rate": rule.landing_rate_goal_pct if rule else None,
        "start_rate": rule.start_rate_goal_pct if rule else None,
    }
    parts = {
        "landing_rate": (figures.landed, figures.signed),
        "start_rate": (figures.started, figures.signed),
        "completion_rate": (figures.producing, figures.signed),
        "funds_rate": (figures.funds_of_signed_wan, figures.funded_amount_wan),
        "performance_rate": (figures.performing, figures.signed),
    }
    rates = []
    for key, label in RATE_LABELS.items():
        goal_pct = goals.get(key)
        numerator, denominator = parts[key]
        rates.append(
            Rate(
                key=key,
                label=str(label),
                value=getattr(figures, key),
                numerator=numerator,
                denominator=denominator,
                goal=Decimal(goal_pct) / 100 if goal_pct is not None else None,
            )
        )
    return rates


def _target_lines(figures: Figures) -> list[TargetLine]:
    return [
        TargetLine(
            "projects",
            str(TARGET_LABELS["projects"]),
            figures.signed,
            figures.target_projects,
            figures.projects_completion,
            False,
        ),
        TargetLine(
            "amount",
            str(TARGET_LABELS["amount"]),
            figures.signed_amount_wan,
            figures.target_amount_wan,
            figures.amount_completion,
            True,
        ),
        TargetLine(
            "out_of_province_funds",
            str(TARGET_LABELS["out_of_province_funds"]),
            figures.out_of_province_funds_wan,
            figures.target_out_of_province_funds_wan,
            figures.funds_completion,
            True,
        ),
    ]


def _listed(projects: list[Project], today: date) -> list[Listed]:
    """The listed projects with their days since progress; their counties in one query.

    ``Project.enterprise`` is joined by the model; ``Project.county`` is a
    many-to-one by primary key, so once the counties are in the session the
    template's ``project.county`` is answered from the identity map, not by a
    query per row.
    """
    county_ids = {p.county_id for p in projects if p.county_id is not None}
    if county_ids:
        db.session.execute(select(OrgUnit).where(OrgUnit.id.in_(county_ids))).scalars().all()
    return [Listed(p, (today - p.last_progress_on).days) for p in projects]


def build(
    scope: ColumnElement[bool],
    period: Period,
    today: date,
    *,
    unit: OrgUnit | None = None,
    city_targets: bool = False,
) -> Dashboard:
    """The dashboard of the projects in ``scope``.

    Targets: a unit's own Target row for the year; for the city (``city_targets``,
    or the bureau's own unit) the sum of the counties' targets. Otherwise none apply.
    """
    figures = fig.total_figures(period, scope)
    if unit is not None and unit.kind == UnitKind.BUREAU:
        city_targets = True
    if unit is not None and not city_targets:
        fig.attach_targets({unit.id: figures}, period.year)
        targets_apply = True
    elif city_targets:
        projects, amount, funds = fig.city_targets(period.year)
        figures.target_projects = int(projects) if projects is not None else None
        figures.target_amount_wan = amount
        figures.target_out_of_province_funds_wan = funds
        targets_apply = True
    else:
        targets_apply = False
    rule = fig.counting_rule(period.year)
    counts = fig.overview(scope, period, today)
    key = fig.key_projects(scope, limit=LIST_LIMIT)
    stalled = fig.stalled_projects(scope, today, limit=LIST_LIMIT)
    listed = _listed(key + stalled, today)
    return Dashboard(
        period=period,
        today=today,
        unit=unit,
        stages=counts.stages,
        signed=counts.signed,
        figures=figures,
        rates=_rates(figures, rule),
        targets=_target_lines(figures),
        targets_apply=targets_apply,
        key_total=counts.key_total,
        key_projects=listed[: len(key)],
        stalled_total=counts.stalled_total,
        stalled_projects=listed[len(key) :],
        # The year's months up to the period's: the dashboard is as of the period's end.
        monthly=counts.monthly[: period.month],
        month_names=month_names(period.year)[: period.month],
    )


def month_names(year: int) -> list[str]:
    """Short month names in the reader's language: 1月 … 12月, Jan … Dec."""
    return [format_date(date(year, m, 1), "MMM") for m in range(1, 13)]


# -- the charts' data ----------------------------------------------------------------------
def _number(value: Decimal | int | None, places: int = 2) -> float | int | None:
    """A figure as a JSON number for a chart (the tables show the exact value)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    return float(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _pct(value: Decimal | None) -> float | None:
    return None if value is None else _number(value * 100, 1)


def amount_scale(values: list[Decimal]) -> tuple[Decimal, str]:
    """Divisor and unit for a chart of amounts: 亿元 once the largest is 1 亿元 or more."""
    largest = max((abs(v) for v in values), default=Decimal(0))
    if largest >= YI_WAN:
        return YI_WAN, str(_l("100 million yuan (亿元)"))
    return Decimal(1), str(_l("10 thousand yuan (万元)"))


def chart_data(board: Dashboard) -> dict:
    stages = list(ProjectStage)
    amounts = [amount for _count, amount in board.monthly]
    divisor, amount_unit = amount_scale(amounts)
    target_lines = [line for line in board.targets if line.target is not None]
    return {
        "stages": {
            "title": str(_l("Projects by stage")),
            "categories": [labels.label(stage) for stage in stages],
            "series": [
                {
                    "name": str(_l("Projects")),
                    "data": [board.stages.get(stage, 0) for stage in stages],
                }
            ],
        },
        "monthly": {
            "title": str(_l("Signed per month, %(year)s", year=board.period.year)),
            "categories": board.month_names,
            "count_axis": str(_l("Projects")),
            "amount_axis": amount_unit,
            "series": [
                {
                    "name": str(_l("Signed projects")),
                    "kind": "count",
                    "data": [count for count, _amount in board.monthly],
                },
                {
                    "name": str(_l("Contract amount")),
                    "kind": "amount",
                    "data": [_number(amount / divisor) for amount in amounts],
                },
            ],
        },
        "targets": {
            "title": str(_l("Target completion and schedule")),
            "categories": [line.label for line in target_lines],
            "schedule": _pct(board.schedule),
            "schedule_name": str(_l("Schedule (序时进度)")),
            "axis": "%",
            "series": [
                {
                    "name": str(_l("Completion of target")),
                    "data": [_pct(line.completion) for line in target_lines],
                }
            ],
        },
        "rates": {
            "title": str(_l("Rates and goals")),
            "categories": [rate.label for rate in board.rates],
            "axis": "%",
            "series": [
                {"name": str(_l("Rate")), "data": [_pct(rate.value) for rate in board.rates]},
            ]
            + (
                [{"name": str(_l("Goal")), "data": [_pct(rate.goal) for rate in board.rates]}]
                if any(rate.goal is not None for rate in board.rates)
                else []
            ),
        },
        "no_value": "—",
    }
