"""Projects: create, edit, move through stages, record funds in place, keep policies.

Plain verb functions: they validate, change, record the timeline event in the
enterprise's file and flush. The caller owns the transaction.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from crm import timeline
from crm.clock import local_today
from crm.errors import DuplicateError, ServiceError
from crm.extensions import db
from crm.models import (
    PUBLIC_FIELDS,
    AttractionChannel,
    Enterprise,
    FundsEntry,
    FundsSource,
    Industry,
    OrgUnit,
    OutboundRole,
    Project,
    ProjectStage,
    ProjectStageChange,
    UnitKind,
    User,
)
from crm.projects import funds_rollup, lifecycle
from crm.records import check_version, soft_delete
from crm.text import blank_to_none

# What a project form edits; each becomes a "field: old → new" line in the file.
PROJECT_FIELDS = [
    "name",
    "name_en",
    "description",
    "description_en",
    "industry",
    "county",
    "park",
    "task_force",
    "channel",
    "outbound_office",
    "outbound_role",
    "contract_amount_wan",
    "is_out_of_province",
    "is_reinvestment",
    "fdi_usd_wan",
    "platform_number",
    "committed_investment_wan",
    "committed_output_wan",
    "committed_tax_wan",
    "committed_jobs",
    "planned_start_on",
    "is_promoted",
    "public_fields",
]
PROJECT_ENUMS = {
    "channel": "AttractionChannel",
    "outbound_role": "OutboundRole",
    "stage": "ProjectStage",
    "from_stage": "ProjectStage",
    "to_stage": "ProjectStage",
}
AMOUNT_FIELDS = (
    "contract_amount_wan",
    "fdi_usd_wan",
    "committed_investment_wan",
    "committed_output_wan",
    "committed_tax_wan",
)

# Which kind of unit each unit field takes.
UNIT_KINDS = {
    "county": UnitKind.COUNTY,
    "park": UnitKind.PARK,
    "task_force": UnitKind.TASK_FORCE,
    "outbound_office": UnitKind.OUTBOUND_OFFICE,
}

# Amounts above this (万元) are typing mistakes: 10 万亿元 is more than any project.
MAX_AMOUNT_WAN = Decimal("1000000000")


def _payload(project: Project) -> dict:
    return {"title": project.name, "project_id": project.id, "enum": dict(PROJECT_ENUMS)}


def check_amount(value: Decimal | None, field: str, *, allow_negative: bool = False) -> None:
    if value is None:
        return
    if not isinstance(value, Decimal):
        raise ServiceError(_l("Enter the amount as a number."), field)
    if value != value.quantize(Decimal("0.0001")):
        raise ServiceError(_l("Amounts in 万元 have at most four decimal places."), field)
    if not allow_negative and value < 0:
        raise ServiceError(_l("The amount cannot be negative."), field)
    if abs(value) > MAX_AMOUNT_WAN:
        raise ServiceError(_l("The amount is too large."), field)


def _check_not_future(day: date | None, field: str) -> None:
    if day is None:
        raise ServiceError(_l("Enter the date."), field)
    if day > local_today():
        raise ServiceError(_l("The date cannot be in the future."), field)


def _clean_fields(fields: dict[str, Any], project: Project | None = None) -> dict[str, Any]:
    unknown = set(fields) - set(PROJECT_FIELDS)
    if unknown:
        raise TypeError(f"unknown project fields: {sorted(unknown)}")
    cleaned = dict(fields)
    for key in ("name", "name_en", "description", "description_en", "platform_number"):
        if key in cleaned:
            cleaned[key] = blank_to_none(cleaned[key])
    if "name" in cleaned and not cleaned["name"]:
        raise ServiceError(_l("Give the project a name."), "name")
    for key in AMOUNT_FIELDS:
        if key in cleaned:
            check_amount(cleaned[key], key)
    jobs = cleaned.get("committed_jobs")
    if jobs is not None and jobs < 0:
        raise ServiceError(_l("The number cannot be negative."), "committed_jobs")
    for key, kind in UNIT_KINDS.items():
        unit = cleaned.get(key)
        if unit is not None and unit.kind != kind:
            raise ServiceError(_l("Choose a unit of the right kind."), key)
    if "channel" in cleaned and cleaned["channel"] is not None:
        cleaned["channel"] = AttractionChannel(cleaned["channel"])
    if "outbound_role" in cleaned and cleaned["outbound_role"] is not None:
        cleaned["outbound_role"] = OutboundRole(cleaned["outbound_role"])
    if cleaned.get("outbound_role") is not None and cleaned.get("outbound_office") is None:
        raise ServiceError(
            _l("Choose the outbound office that played this role."), "outbound_office"
        )
    if "public_fields" in cleaned:
        cleaned["public_fields"] = sorted(set(cleaned["public_fields"] or []) & set(PUBLIC_FIELDS))
    number = cleaned.get("platform_number")
    if number:
        existing = db.session.execute(
            select(Project.id).where(Project.platform_number == number)
        ).scalar()
        if existing is not None and (project is None or existing != project.id):
            raise DuplicateError(
                _l("Another project already has this city platform number."),
                "platform_number",
                existing_id=existing,
            )
    return cleaned


# -- projects --------------------------------------------------------------------
def create_project(
    enterprise: Enterprise,
    *,
    actor: User | None,
    stage: ProjectStage | str = ProjectStage.RESERVE,
    stage_on: date | None = None,
    **fields: Any,
) -> Project:
    """A new project, entering the ladder at ``stage`` as of ``stage_on`` (default today)."""
    cleaned = _clean_fields(fields)
    if "name" not in cleaned:
        raise ServiceError(_l("Give the project a name."), "name")
    stage = ProjectStage(stage)
    if stage == ProjectStage.TERMINATED:
        raise ServiceError(_l("A new project cannot start as terminated."), "stage")
    stage_on = stage_on or local_today()
    _check_not_future(stage_on, "stage_on")
    project = Project(
        enterprise_id=enterprise.id,
        enterprise=enterprise,
        created_by_id=actor.id if actor else None,
        last_progress_on=stage_on,
        **{"public_fields": [], **cleaned},
    )
    lifecycle.apply(project, stage, stage_on)
    db.session.add(project)
    db.session.flush()
    db.session.add(
        ProjectStageChange(
            project_id=project.id,
            from_stage=None,
            to_stage=stage,
            effective_on=stage_on,
            recorded_by_id=actor.id if actor else None,
        )
    )
    data = _payload(project)
    data.update(timeline.snapshot(project, ["stage", "contract_amount_wan", "county"]))
    data["stage_on"] = stage_on.isoformat()
    timeline.record(
        enterprise.id,
        "project.created",
        actor=actor,
        subject_type="project",
        subject_id=project.id,
        data=data,
    )
    db.session.flush()
    return project


def update_project(
    project: Project, *, actor: User | None, expected_version, **fields: Any
) -> Project:
    check_version(project, expected_version, allow_missing=False)
    cleaned = _clean_fields(fields, project)
    if "name" in fields and not cleaned.get("name"):
        raise ServiceError(_l("Give the project a name."), "name")
    before = timeline.snapshot(project, list(cleaned))
    for key, value in cleaned.items():
        setattr(project, key, value)
    after = timeline.snapshot(project, list(cleaned))
    if before != after:
        project.last_progress_on = max(project.last_progress_on, local_today())
        timeline.record_change(
            project.enterprise_id,
            "project.updated",
            actor=actor,
            subject_type="project",
            subject_id=project.id,
            before=before,
            after=after,
            data=_payload(project),
        )
    db.session.flush()
    return project


def change_stage(
    project: Project,
    *,
    actor: User | None,
    expected_version,
    to_stage: ProjectStage | str,
    effective_on: date | None,
    reason: str | None = None,
) -> ProjectStageChange:
    """Record a move to ``to_stage`` effective on ``effective_on`` (today or earlier).

    The history must read forwards: a move cannot be dated before the one it
    follows, or the rates of past months would change under a published report
    without anyone having corrected anything.
    """
    check_version(project, expected_version, allow_missing=False)
    to_stage = ProjectStage(to_stage)
    reason = blank_to_none(reason)
    _check_not_future(effective_on, "effective_on")
    if effective_on < project.stage_since:
        raise ServiceError(
            _l(
                "The date cannot be before the current stage began (%(day)s).",
                day=project.stage_since.isoformat(),
            ),
            "effective_on",
        )
    if to_stage == project.stage:
        raise ServiceError(_l("The project is already in this stage."), "to_stage")
    regular = lifecycle.is_regular(project.stage, to_stage)
    if to_stage == ProjectStage.TERMINATED and not reason:
        raise ServiceError(_l("Give the reason the project was terminated."), "reason")
    if not regular and not reason:
        raise ServiceError(_l("This move skips or reverses stages: give the reason."), "reason")
    from_stage = project.stage
    change = ProjectStageChange(
        project_id=project.id,
        from_stage=from_stage,
        to_stage=to_stage,
        effective_on=effective_on,
        is_irregular=not regular,
        reason=reason,
        recorded_by_id=actor.id if actor else None,
    )
    db.session.add(change)
    lifecycle.apply(project, to_stage, effective_on)
    if to_stage == ProjectStage.TERMINATED:
        project.termination_reason = reason
    project.last_progress_on = max(project.last_progress_on, effective_on)
    db.session.flush()
    data = _payload(project)
    data.update(
        from_stage=from_stage.value,
        to_stage=to_stage.value,
        effective_on=effective_on.isoformat(),
        irregular=not regular,
        text=reason,
    )
    timeline.record(
        project.enterprise_id,
        "project.stage_changed",
        actor=actor,
        subject_type="project",
        subject_id=project.id,
        data=data,
    )
    return change


def stage_history(project: Project) -> list[ProjectStageChange]:
    return list(
        db.session.execute(
            select(ProjectStageChange)
            .where(ProjectStageChange.project_id == project.id)
            .order_by(ProjectStageChange.effective_on.desc(), ProjectStageChange.id.desc())
        ).scalars()
    )


def delete_project(project: Project, *, actor: User | None) -> None:
    soft_delete(project, "project", actor=actor, data=_payload(project))


# -- funds in place ----------------------------------------------------------------
def _note_progress(project: Project, day: date) -> None:
    """Move ``last_progress_on`` forward without bumping the project's version.

    Reporting funds is progress (the project is not stalled) but not an edit of
    the project: someone's open edit form must not turn stale because of it.
    """
    if day <= project.last_progress_on:
        return
    db.session.execute(
        update(Project)
        .where(Project.id == project.id)
        .values(last_progress_on=day)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(project, "last_progress_on", day)


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def record_funds(
    project: Project,
    *,
    actor: User | None,
    month: date | None,
    source: FundsSource | str,
    amount_wan: Decimal | None,
    note: str | None = None,
    corrects: FundsEntry | None = None,
) -> FundsEntry:
    """Add funds in place for a month; a correction is a new entry naming the one it corrects."""
    if corrects is not None:
        # A correction adjusts the same month and source as the entry it corrects.
        month, source = corrects.month, corrects.source
    if month is None:
        raise ServiceError(_l("Choose the month."), "month")
    month = first_of_month(month)
    if month > first_of_month(local_today()):
        raise ServiceError(_l("Funds cannot be reported for a future month."), "month")
    if amount_wan is None:
        raise ServiceError(_l("Enter the amount as a number."), "amount_wan")
    check_amount(amount_wan, "amount_wan", allow_negative=corrects is not None)
    if corrects is None and amount_wan == 0:
        raise ServiceError(_l("The amount cannot be zero."), "amount_wan")
    note = blank_to_none(note)
    if corrects is not None:
        if corrects.project_id != project.id:
            raise ServiceError(_l("The entry corrected belongs to another project."), "corrects")
        if not note:
            raise ServiceError(_l("Say why the entry is corrected."), "note")
    if project.signed_on is None:
        raise ServiceError(_l("Funds are reported for signed projects only."), "amount_wan")
    entry = FundsEntry(
        project_id=project.id,
        month=month,
        source=FundsSource(source),
        amount_wan=amount_wan,
        note=note,
        corrects_id=corrects.id if corrects else None,
        recorded_by_id=actor.id if actor else None,
    )
    db.session.add(entry)
    funds_rollup.add(project.id, month, entry.source, amount_wan)
    _note_progress(project, local_today())
    db.session.flush()
    data = _payload(project)
    data.update(
        month=month.isoformat()[:7],
        source=entry.source.value,
        amount_wan=str(amount_wan),
        corrects_id=entry.corrects_id,
        text=note,
        enum={**data["enum"], "source": "FundsSource"},
    )
    timeline.record(
        project.enterprise_id,
        "project.funds_corrected" if corrects else "project.funds_recorded",
        actor=actor,
        subject_type="project",
        subject_id=project.id,
        data=data,
    )
    return entry


def funds_entries(project: Project) -> list[FundsEntry]:
    return list(
        db.session.execute(
            select(FundsEntry)
            .where(FundsEntry.project_id == project.id)
            .order_by(FundsEntry.month.desc(), FundsEntry.id.desc())
        ).scalars()
    )


def funds_total(project: Project, *, until: date | None = None) -> Decimal:
    stmt = select(func.coalesce(func.sum(FundsEntry.amount_wan), 0)).where(
        FundsEntry.project_id == project.id
    )
    if until is not None:
        stmt = stmt.where(FundsEntry.month <= until)
    return db.session.execute(stmt).scalar()


def enterprise_projects(enterprise: Enterprise) -> list[Project]:
    return list(
        db.session.execute(
            select(Project)
            .where(Project.enterprise_id == enterprise.id, Project.deleted_at.is_(None))
            .order_by(Project.created_at.desc())
        ).scalars()
    )


def units_of_kind(kind: UnitKind) -> list[OrgUnit]:
    return list(
        db.session.execute(
            select(OrgUnit)
            .where(OrgUnit.kind == kind, OrgUnit.is_active.is_(True))
            .order_by(OrgUnit.sort_order, OrgUnit.path)
        ).scalars()
    )


def active_industries() -> list[Industry]:
    return list(
        db.session.execute(
            select(Industry).where(Industry.is_active.is_(True)).order_by(Industry.sort_order)
        ).scalars()
    )
