"""Investment projects (招商项目): the project, its stage history, funds in place and policies.

The milestone dates on ``Project`` (``signed_on`` ... ``terminated_on``) are
derived from the stage history by ``crm.projects.lifecycle`` every time the
history changes; the rates read them, so a city-wide landing rate is one
aggregate over ``project`` and never a replay of a million stage changes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import (
    SoftDeleteMixin,
    TimestampMixin,
    UTCDateTime,
    VersionedMixin,
    WanAmount,
    utcnow,
)
from crm.models.enterprise import Enterprise
from crm.models.org import OrgUnit, User
from crm.models.reference import Industry
from crm.models.types import (
    AttractionChannel,
    FundsSource,
    OutboundRole,
    PolicyStatus,
    ProjectStage,
    str_enum,
)

# A key project (重点项目) has a contract amount of at least 10 亿元 = 100,000 万元.
KEY_PROJECT_THRESHOLD_WAN = Decimal("100000")

# Fields a reserve project may show on the public opportunity list (机遇清单).
PUBLIC_FIELDS = ("industry", "county", "park", "contract_amount", "description")


class Project(TimestampMixin, VersionedMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "project"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    industry_id: Mapped[int | None] = mapped_column(
        ForeignKey("industry.id", ondelete="SET NULL"), index=True
    )
    county_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id", ondelete="SET NULL"))
    park_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id", ondelete="SET NULL"))
    task_force_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_unit.id", ondelete="SET NULL")
    )
    channel: Mapped[AttractionChannel | None] = mapped_column(str_enum(AttractionChannel))
    outbound_office_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_unit.id", ondelete="SET NULL"), index=True
    )
    outbound_role: Mapped[OutboundRole | None] = mapped_column(str_enum(OutboundRole))
    contract_amount_wan: Mapped[Decimal | None] = mapped_column("contract_amount_yuan", WanAmount)
    is_out_of_province: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    is_reinvestment: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    fdi_usd_wan: Mapped[Decimal | None] = mapped_column(
        "fdi_usd", WanAmount
    )  # 万美元, stored as whole dollars
    platform_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Commitments of the signed contract (履约).
    committed_investment_wan: Mapped[Decimal | None] = mapped_column(
        "committed_investment_yuan", WanAmount
    )
    committed_output_wan: Mapped[Decimal | None] = mapped_column("committed_output_yuan", WanAmount)
    committed_tax_wan: Mapped[Decimal | None] = mapped_column("committed_tax_yuan", WanAmount)
    committed_jobs: Mapped[int | None] = mapped_column(Integer)
    planned_start_on: Mapped[date | None] = mapped_column(Date)

    # Where the project stands, and when each milestone was reached (effective
    # dates, derived from the stage history).
    stage: Mapped[ProjectStage] = mapped_column(
        str_enum(ProjectStage), default=ProjectStage.RESERVE, server_default="reserve"
    )
    stage_since: Mapped[date] = mapped_column(Date)
    signed_on: Mapped[date | None] = mapped_column(Date)
    landed_on: Mapped[date | None] = mapped_column(Date)
    started_on: Mapped[date | None] = mapped_column(Date)
    producing_on: Mapped[date | None] = mapped_column(Date)
    reached_target_on: Mapped[date | None] = mapped_column(Date)
    terminated_on: Mapped[date | None] = mapped_column(Date)
    termination_reason: Mapped[str | None] = mapped_column(Text)
    # The last day anything happened to the project (stage change, funds, edit):
    # a project is stalled when this is too long ago for its stage.
    last_progress_on: Mapped[date] = mapped_column(Date)

    # The opportunity list (机遇清单): shown publicly while promoted and in reserve.
    is_promoted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    public_fields: Mapped[list] = mapped_column(db.JSON, default=list)

    # Paths of the project's units, as on Enterprise (see crm.access).
    unit_paths: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")
    industry: Mapped[Industry | None] = relationship(lazy="joined")
    county: Mapped[OrgUnit | None] = relationship(foreign_keys=[county_id])
    park: Mapped[OrgUnit | None] = relationship(foreign_keys=[park_id])
    task_force: Mapped[OrgUnit | None] = relationship(foreign_keys=[task_force_id])
    outbound_office: Mapped[OrgUnit | None] = relationship(foreign_keys=[outbound_office_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    __table_args__ = (
        # The figures group by county or task force and filter on the signing date.
        Index("ix_project_county_signed", "county_id", "signed_on"),
        Index("ix_project_task_force_signed", "task_force_id", "signed_on"),
        Index("ix_project_signed", "signed_on"),
        # Live projects by stage: the dashboard's stage counts and stalled list read
        # only this index (enterprise_id for excluding deleted enterprises).
        Index(
            "ix_project_live_stage",
            "stage",
            "last_progress_on",
            "enterprise_id",
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # Key projects, largest first. Partial, so that only the key-project test (the
        # threshold written as a literal, see is_key) can use it: a plain amount index
        # tempted SQLite to drive every figure from the counting rule's minimum amount.
        Index(
            "ix_project_key",
            "contract_amount_yuan",
            sqlite_where=text("contract_amount_yuan >= 1000000000"),
            postgresql_where=text("contract_amount_yuan >= 1000000000"),
        ),
        Index("ix_project_promoted", "is_promoted", "stage"),
    )

    @hybrid_property
    def is_key(self) -> bool:
        return (
            self.contract_amount_wan is not None
            and self.contract_amount_wan >= KEY_PROJECT_THRESHOLD_WAN
        )

    @is_key.inplace.expression
    @classmethod
    def _is_key_expression(cls):
        # A literal in the SQL (not a bound parameter), so the planner can match it
        # to the partial index ix_project_key.
        threshold = bindparam(
            None, KEY_PROJECT_THRESHOLD_WAN, type_=WanAmount(), literal_execute=True
        )
        return cls.contract_amount_wan >= threshold

    @property
    def units(self) -> list[OrgUnit]:
        return [u for u in (self.county, self.park, self.task_force, self.outbound_office) if u]

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.name}>"


class ProjectStageChange(db.Model):
    """One move of a project from a stage to another, effective on a date (which may be past)."""

    __tablename__ = "project_stage_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    from_stage: Mapped[ProjectStage | None] = mapped_column(str_enum(ProjectStage))
    to_stage: Mapped[ProjectStage] = mapped_column(str_enum(ProjectStage))
    effective_on: Mapped[date] = mapped_column(Date)
    # A move that skips stages or goes back needs a reason and is shown as such.
    is_irregular: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])

    __table_args__ = (Index("ix_stage_change_project", "project_id", "effective_on", "id"),)


class FundsEntry(db.Model):
    """Funds in place (到位资金) reported for one month and source.

    Entries are never edited: a correction is a new entry (often negative) that
    names the entry it corrects, so every reported figure can be traced.
    """

    __tablename__ = "funds_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)  # the first day of the month reported
    source: Mapped[FundsSource] = mapped_column(str_enum(FundsSource))
    amount_wan: Mapped[Decimal] = mapped_column("amount_yuan", WanAmount)
    corrects_id: Mapped[int | None] = mapped_column(
        ForeignKey("funds_entry.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    corrects: Mapped[FundsEntry | None] = relationship(remote_side=[id])

    __table_args__ = (
        Index("ix_funds_project_month", "project_id", "month", "source", "amount_yuan"),
    )


def _month_columns() -> list[Column]:
    columns = []
    for month in range(1, 13):
        for prefix in ("total", "oop"):
            columns.append(
                Column(
                    f"{prefix}_to_m{month:02d}_yuan",
                    WanAmount,
                    nullable=False,
                    server_default="0",
                )
            )
    return columns


# Funds in place of one project in one year, cumulative by month: ``total_to_m03_yuan``
# is everything reported for January to March, ``oop_to_m03_yuan`` the part from
# outside the province. Kept in the same transaction as every funds entry
# (crm.projects.funds_rollup), so "funds of the year to month m" for a whole city
# reads one row per project instead of summing a third of a million entries.
project_funds_year = Table(
    "project_funds_year",
    db.metadata,
    Column("project_id", ForeignKey("project.id", ondelete="CASCADE"), primary_key=True),
    Column("year", SmallInteger, primary_key=True, autoincrement=False),
    *_month_columns(),
    Index("ix_project_funds_year_year", "year", "project_id"),
)


class Policy(TimestampMixin, VersionedMixin, SoftDeleteMixin, db.Model):
    """One policy or incentive of an enterprise's package (一企一策)."""

    __tablename__ = "policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("project.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    basis: Mapped[str | None] = mapped_column(String(300))  # the document it rests on
    value_wan: Mapped[Decimal | None] = mapped_column("value_yuan", WanAmount)
    conditions: Mapped[str | None] = mapped_column(Text)
    status: Mapped[PolicyStatus] = mapped_column(
        str_enum(PolicyStatus), default=PolicyStatus.PROPOSED, server_default="proposed"
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    enterprise: Mapped[Enterprise] = relationship()
    project: Mapped[Project | None] = relationship()


class Target(TimestampMixin, VersionedMixin, db.Model):
    """A unit's targets for a year (county or task force); NULL means no target for that metric."""

    __tablename__ = "target"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"))
    new_projects: Mapped[int | None] = mapped_column(Integer)
    contract_amount_wan: Mapped[Decimal | None] = mapped_column("contract_amount_yuan", WanAmount)
    out_of_province_funds_wan: Mapped[Decimal | None] = mapped_column(
        "out_of_province_funds_yuan", WanAmount
    )

    unit: Mapped[OrgUnit] = relationship()

    __table_args__ = (UniqueConstraint("year", "unit_id"),)


counting_rule_industry = Table(
    "counting_rule_industry",
    db.metadata,
    Column("rule_id", ForeignKey("counting_rule.id", ondelete="CASCADE"), primary_key=True),
    Column("industry_id", ForeignKey("industry.id", ondelete="CASCADE"), primary_key=True),
)


class CountingRule(TimestampMixin, VersionedMixin, db.Model):
    """Which projects count for a year's figures: data an admin edits, not code."""

    __tablename__ = "counting_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, unique=True)
    # Signed projects below this contract amount do not count (None: all count).
    min_contract_amount_wan: Mapped[Decimal | None] = mapped_column(
        "min_contract_amount_yuan", WanAmount
    )
    # Terminated projects stay in "signed" (they were signed) unless this is off.
    count_terminated: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # The city's goals for the year's rates, in percent (Yibin 2023: 70 and 35).
    landing_rate_goal_pct: Mapped[int | None] = mapped_column(SmallInteger)
    start_rate_goal_pct: Mapped[int | None] = mapped_column(SmallInteger)

    excluded_industries: Mapped[list[Industry]] = relationship(
        secondary=counting_rule_industry, lazy="selectin", order_by=Industry.name
    )


class StallThreshold(db.Model):
    """Days without progress after which a project in a stage is stalled.

    ``unit_id`` NULL is the city-wide default; a county's own row overrides it.
    """

    __tablename__ = "stall_threshold"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"))
    stage: Mapped[ProjectStage] = mapped_column(str_enum(ProjectStage))
    days: Mapped[int] = mapped_column(Integer)

    unit: Mapped[OrgUnit | None] = relationship()

    __table_args__ = (UniqueConstraint("unit_id", "stage"),)


class MonthlyReport(db.Model):
    """A published monthly ranking (月通报): the figures as they were when published."""

    __tablename__ = "monthly_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    month: Mapped[int] = mapped_column(SmallInteger)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)

    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])
    rows: Mapped[list[MonthlyReportRow]] = relationship(
        back_populates="report",
        order_by="(MonthlyReportRow.unit_kind, MonthlyReportRow.rank)",
        cascade="all, delete-orphan",
    )

    __table_args__ = (UniqueConstraint("year", "month"),)


class MonthlyReportRow(db.Model):
    """One unit's line of a published report; ``figures`` holds every metric as text (exact)."""

    __tablename__ = "monthly_report_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("monthly_report.id", ondelete="CASCADE"))
    unit_kind: Mapped[str] = mapped_column(String(24))  # UnitKind value: county or task_force
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id", ondelete="SET NULL"))
    unit_name: Mapped[str] = mapped_column(String(100))
    rank: Mapped[int] = mapped_column(Integer)
    figures: Mapped[dict] = mapped_column(db.JSON, default=dict)

    report: Mapped[MonthlyReport] = relationship(back_populates="rows")

    __table_args__ = (
        UniqueConstraint("report_id", "unit_kind", "unit_id"),
        Index("ix_report_row_report", "report_id", "unit_kind", "rank"),
    )


__all__ = [
    "CountingRule",
    "FundsEntry",
    "KEY_PROJECT_THRESHOLD_WAN",
    "MonthlyReport",
    "MonthlyReportRow",
    "PUBLIC_FIELDS",
    "Policy",
    "Project",
    "ProjectStageChange",
    "StallThreshold",
    "Target",
    "counting_rule_industry",
    "project_funds_year",
]
