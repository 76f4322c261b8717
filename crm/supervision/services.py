"""Supervision items (督办事项) and on-site verification (实地核查).

Plain verb functions: they validate, change, record the timeline event, replan
the item's reminders and flush. The caller owns the transaction, so an item,
its event and its reminders are saved together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from crm import timeline
from crm.clock import local_today, next_monday
from crm.documents.services import attach_document
from crm.documents.storage import FileStorage
from crm.errors import ServiceError
from crm.extensions import db
from crm.models import (
    STAGE_LADDER,
    CheckOutcome,
    Document,
    DocumentKind,
    Enterprise,
    EnterpriseIssue,
    Escalation,
    OrgUnit,
    Project,
    ProjectStage,
    SupervisionCheck,
    SupervisionItem,
    SupervisionStatus,
    TimelineEvent,
    User,
)
from crm.models.base import utcnow
from crm.records import check_version, soft_delete
from crm.reminders import planner
from crm.text import blank_to_none, excerpt

SUBJECT = "supervision"  # the timeline's and the reminder planner's name for an item
ITEM_FIELDS = ["title", "target_stage", "due_date", "unit", "owner", "note"]
ITEM_ENUMS = {"target_stage": "ProjectStage", "status": "SupervisionStatus"}
TEXT_LENGTH = 500
# Photos of a check: the image types the document store accepts (its content check applies).
PHOTO_EXTENSIONS = ("jpg", "jpeg", "png", "gif", "webp", "heic")


# -- helpers -------------------------------------------------------------------
def _payload(item: SupervisionItem) -> dict:
    data = {"title": item.title, "supervision_id": item.id, "enum": dict(ITEM_ENUMS)}
    if item.project_id:
        data["project_id"] = item.project_id
    if item.issue_id:
        data["issue_id"] = item.issue_id
    return data


def _recorded(item: SupervisionItem, kind: str, actor: User | None, data: dict) -> None:
    """The item's event in the file, and its reminders brought in line with it."""
    timeline.record(
        item.enterprise_id, kind, actor=actor, subject_type=SUBJECT, subject_id=item.id, data=data
    )
    _replan(item)


def _replan(item: SupervisionItem) -> None:
    db.session.flush()
    planner.replan(SUBJECT, item)


def is_overdue(item: SupervisionItem, today: date | None = None) -> bool:
    return item.status == SupervisionStatus.OPEN and item.due_date < (today or local_today())


def _require_open(item: SupervisionItem) -> None:
    if item.status != SupervisionStatus.OPEN:
        raise ServiceError(_l("This supervision item is closed: it can no longer be changed."))


def _check_title(title: str | None) -> str:
    title = blank_to_none(title)
    if not title:
        raise ServiceError(_l("Give the supervision item a title."), "title")
    return title


def _check_due_date(due_date: date | None) -> None:
    if due_date is None:
        raise ServiceError(_l("Enter the due date."), "due_date")
    if due_date < local_today():
        raise ServiceError(_l("The due date cannot be in the past."), "due_date")


def _check_unit(unit: OrgUnit | None, *, unchanged: bool = False) -> None:
    if unit is None:
        raise ServiceError(_l("Choose the responsible unit."), "unit")
    if not unit.is_active and not unchanged:
        raise ServiceError(_l("Choose an active unit."), "unit")


def _check_owner(owner: User | None, *, unchanged: bool = False) -> None:
    if owner is not None and not owner.active and not unchanged:
        raise ServiceError(_l("Choose active users."), "owner")


def _check_target(project: Project | None, target_stage: ProjectStage | str | None):
    """The stage the project must reach: one above where it stands, on a project only."""
    if not target_stage:
        return None
    if project is None:
        raise ServiceError(
            _l("A target stage needs a project: choose the project first."), "target_stage"
        )
    stage = ProjectStage(target_stage)
    if stage not in STAGE_LADDER:
        raise ServiceError(_l("Choose a stage of the project's lifecycle."), "target_stage")
    if project.stage in STAGE_LADDER and STAGE_LADDER.index(project.stage) >= STAGE_LADDER.index(
        stage
    ):
        raise ServiceError(_l("The project has already reached this stage."), "target_stage")
    return stage


def _check_subjects(
    enterprise: Enterprise, project: Project | None, issue: EnterpriseIssue | None
) -> None:
    if project is None and issue is None:
        raise ServiceError(_l("Choose the project or the issue to supervise."), "project")
    if project is not None:
        if project.enterprise_id != enterprise.id or project.deleted_at is not None:
            raise ServiceError(_l("Choose a project of this enterprise."), "project")
        if project.stage == ProjectStage.TERMINATED:
            raise ServiceError(_l("The project was terminated."), "project")
    if issue is not None and (issue.enterprise_id != enterprise.id or issue.deleted_at is not None):
        raise ServiceError(_l("Choose an issue of this enterprise."), "issue")


# -- items ---------------------------------------------------------------------
def create_item(
    enterprise: Enterprise,
    *,
    actor: User | None,
    title: str,
    due_date: date | None,
    unit: OrgUnit | None,
    project: Project | None = None,
    issue: EnterpriseIssue | None = None,
    target_stage: ProjectStage | str | None = None,
    owner: User | None = None,
    note: str | None = None,
) -> SupervisionItem:
    _check_subjects(enterprise, project, issue)
    title = _check_title(title)
    stage = _check_target(project, target_stage)
    _check_due_date(due_date)
    _check_unit(unit)
    _check_owner(owner)
    item = SupervisionItem(
        enterprise_id=enterprise.id,
        project=project,
        issue=issue,
        title=title,
        target_stage=stage,
        due_date=due_date,
        unit=unit,
        owner=owner,
        status=SupervisionStatus.OPEN,
        note=blank_to_none(note),
        created_by_id=actor.id if actor else None,
    )
    db.session.add(item)
    db.session.flush()
    data = _payload(item)
    data.update(timeline.snapshot(item, ["target_stage", "due_date", "unit", "owner", "status"]))
    data["text"] = excerpt(item.note, TEXT_LENGTH) or None
    _recorded(item, "supervision.created", actor, data)
    return item


def update_item(
    item: SupervisionItem,
    *,
    actor: User | None,
    expected_version,
    title: str,
    due_date: date | None,
    unit: OrgUnit | None,
    target_stage: ProjectStage | str | None = None,
    owner: User | None = None,
    note: str | None = None,
) -> SupervisionItem:
    check_version(item, expected_version, allow_missing=False)
    _require_open(item)
    title = _check_title(title)
    if (target_stage or None) != (item.target_stage.value if item.target_stage else None):
        stage = _check_target(item.project, target_stage)
    else:
        stage = item.target_stage
    # An unchanged, already passed due date must not block fixing a typo.
    if due_date != item.due_date:
        _check_due_date(due_date)
    _check_unit(unit, unchanged=unit is not None and unit.id == item.unit_id)
    _check_owner(owner, unchanged=owner is not None and owner.id == item.owner_id)
    before = timeline.snapshot(item, ITEM_FIELDS)
    item.title = title
    item.target_stage = stage
    item.due_date = due_date
    item.unit = unit
    item.owner = owner
    item.note = blank_to_none(note)
    after = timeline.snapshot(item, ITEM_FIELDS)
    if before != after:
        timeline.record_change(
            item.enterprise_id,
            "supervision.updated",
            actor=actor,
            subject_type=SUBJECT,
            subject_id=item.id,
            before=before,
            after=after,
            data=_payload(item),
        )
    _replan(item)
    return item


def mark_done(item: SupervisionItem, *, actor: User | None, expected_version) -> SupervisionItem:
    check_version(item, expected_version, allow_missing=False)
    _require_open(item)
    today = local_today()
    item.status = SupervisionStatus.DONE
    item.done_at = utcnow()
    item.done_by_id = actor.id if actor else None
    data = _payload(item)
    data.update(due_date=item.due_date.isoformat(), late=item.due_date < today)
    _recorded(item, "supervision.done", actor, data)
    return item


def cancel_item(
    item: SupervisionItem, *, actor: User | None, expected_version, reason: str | None
) -> SupervisionItem:
    check_version(item, expected_version, allow_missing=False)
    _require_open(item)
    reason = blank_to_none(reason)
    if not reason:
        raise ServiceError(_l("Say why the item is cancelled."), "reason")
    item.status = SupervisionStatus.CANCELLED
    data = _payload(item)
    data["text"] = excerpt(reason, TEXT_LENGTH)
    _recorded(item, "supervision.cancelled", actor, data)
    return item


def delete_item(item: SupervisionItem, *, actor: User | None) -> None:
    soft_delete(item, SUBJECT, actor=actor, data=_payload(item))
    _replan(item)


# -- on-site verification ---------------------------------------------------------
@dataclass(frozen=True)
class Photo:
    stream: BinaryIO
    filename: str | None


def record_check(
    item: SupervisionItem,
    *,
    actor: User | None,
    checked_on: date | None,
    outcome: CheckOutcome | str | None,
    findings: str | None,
    photos: Iterable[Photo] = (),
    storage: FileStorage,
    allowed_extensions: Iterable[str],
    max_bytes: int,
) -> SupervisionCheck:
    """A visit to the site: what was found, and the photos taken (kept as documents)."""
    if item.status == SupervisionStatus.CANCELLED:
        raise ServiceError(_l("This supervision item was cancelled: nothing is left to check."))
    if checked_on is None:
        raise ServiceError(_l("Enter the day of the check."), "checked_on")
    if checked_on > local_today():
        raise ServiceError(_l("The day of the check cannot be in the future."), "checked_on")
    if not outcome:
        raise ServiceError(_l("Choose what the check found."), "outcome")
    findings = blank_to_none(findings)
    if not findings:
        raise ServiceError(_l("Describe what was found on site."), "findings")
    check = SupervisionCheck(
        item_id=item.id,
        enterprise_id=item.enterprise_id,
        checked_on=checked_on,
        outcome=CheckOutcome(outcome),
        findings=findings,
        checked_by_id=actor.id if actor else None,
    )
    db.session.add(check)
    db.session.flush()
    # Only image types, and only those the document store accepts at all.
    allowed = [ext for ext in allowed_extensions if ext.lower().lstrip(".") in PHOTO_EXTENSIONS]
    photo_ids = []
    for photo in photos:
        try:
            document = attach_document(
                item.enterprise,
                actor=actor,
                stream=photo.stream,
                filename=photo.filename,
                kind=DocumentKind.PHOTO,
                storage=storage,
                allowed_extensions=allowed,
                max_bytes=max_bytes,
            )
        except ServiceError as error:
            if error.field != "file":
                raise
            # Name the photo: several may be uploaded at once.
            raise ServiceError(
                _l("%(name)s: %(problem)s", name=photo.filename or "?", problem=error.message),
                "photos",
            ) from None
        document.check_id = check.id
        photo_ids.append(document.id)
    data = _payload(item)
    data.update(
        check_id=check.id,
        checked_on=checked_on.isoformat(),
        outcome=check.outcome.value,
        photos=len(photo_ids),
        text=excerpt(findings, TEXT_LENGTH),
    )
    data["enum"]["outcome"] = "CheckOutcome"
    timeline.record(
        item.enterprise_id,
        "supervision.checked",
        actor=actor,
        subject_type=SUBJECT,
        subject_id=item.id,
        data=data,
    )
    db.session.flush()
    return check


# -- reading -------------------------------------------------------------------
def start_of_next_week(today: date | None = None) -> date:
    """The Monday after this local week (weeks run Monday to Sunday)."""
    return next_monday(today)


def escalated_condition():
    return planner.escalated_condition(SUBJECT, SupervisionItem.id)


def items_query(
    scope,
    *,
    status: str | None = None,
    due: str | None = None,
    escalated: bool = False,
    unit: OrgUnit | None = None,
) -> Select:
    """Live items of live enterprises inside ``scope`` (access.enterprise_scope()).

    ``due`` is "overdue" (open and due before today, local time) or "week" (due
    from today to the end of this local week, Sunday); ``unit`` keeps the items
    whose responsible unit is that unit or one below it.
    """
    stmt = (
        select(SupervisionItem)
        .join(Enterprise, Enterprise.id == SupervisionItem.enterprise_id)
        .options(
            joinedload(SupervisionItem.enterprise),
            joinedload(SupervisionItem.unit),
            joinedload(SupervisionItem.owner),
            joinedload(SupervisionItem.project),
            joinedload(SupervisionItem.issue),
        )
        .where(scope, Enterprise.deleted_at.is_(None), SupervisionItem.deleted_at.is_(None))
    )
    today = local_today()
    if status:
        stmt = stmt.where(SupervisionItem.status == SupervisionStatus(status))
    if due == "overdue":
        stmt = stmt.where(
            SupervisionItem.status == SupervisionStatus.OPEN, SupervisionItem.due_date < today
        )
    elif due == "week":
        stmt = stmt.where(
            SupervisionItem.due_date >= today, SupervisionItem.due_date < start_of_next_week(today)
        )
    if escalated:
        stmt = stmt.where(escalated_condition())
    if unit is not None:
        below = select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path, autoescape=True))
        stmt = stmt.where(SupervisionItem.unit_id.in_(below))
    return stmt.order_by(SupervisionItem.due_date.asc(), SupervisionItem.id)


def escalated_ids(item_ids: Iterable[int]) -> set[int]:
    return planner.escalated_ids(SUBJECT, item_ids)


def escalations(item: SupervisionItem) -> list[Escalation]:
    return planner.escalations(SUBJECT, item.id)


def items_of(
    *,
    enterprise: Enterprise | None = None,
    project: Project | None = None,
    issue: EnterpriseIssue | None = None,
) -> list[SupervisionItem]:
    """Live items of one enterprise, project or issue: open ones first, then by due date."""
    stmt = (
        select(SupervisionItem)
        .options(
            joinedload(SupervisionItem.unit),
            joinedload(SupervisionItem.owner),
            selectinload(SupervisionItem.checks),
        )
        .where(SupervisionItem.deleted_at.is_(None))
    )
    if enterprise is not None:
        stmt = stmt.where(SupervisionItem.enterprise_id == enterprise.id)
    if project is not None:
        stmt = stmt.where(SupervisionItem.project_id == project.id)
    if issue is not None:
        stmt = stmt.where(SupervisionItem.issue_id == issue.id)
    items = list(db.session.execute(stmt).scalars())
    items.sort(key=lambda i: (i.status != SupervisionStatus.OPEN, i.due_date, i.id))
    return items


def history(item: SupervisionItem) -> list[TimelineEvent]:
    """The item's own events, newest first."""
    return list(
        db.session.execute(
            select(TimelineEvent)
            .where(
                TimelineEvent.enterprise_id == item.enterprise_id,
                TimelineEvent.subject_type == SUBJECT,
                TimelineEvent.subject_id == item.id,
            )
            .order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())
        ).scalars()
    )


def photos_by_check(item: SupervisionItem) -> dict[int, list[Document]]:
    check_ids = [check.id for check in item.checks]
    if not check_ids:
        return {}
    found: dict[int, list[Document]] = {}
    for document in db.session.execute(
        select(Document)
        .where(Document.check_id.in_(check_ids), Document.deleted_at.is_(None))
        .order_by(Document.id)
    ).scalars():
        found.setdefault(document.check_id, []).append(document)
    return found


def project_candidates(enterprise: Enterprise) -> list[Project]:
    return list(
        db.session.execute(
            select(Project)
            .where(
                Project.enterprise_id == enterprise.id,
                Project.deleted_at.is_(None),
                Project.stage != ProjectStage.TERMINATED,
            )
            .order_by(Project.name)
        ).scalars()
    )


def issue_candidates(enterprise: Enterprise) -> list[EnterpriseIssue]:
    return list(
        db.session.execute(
            select(EnterpriseIssue)
            .where(
                EnterpriseIssue.enterprise_id == enterprise.id,
                EnterpriseIssue.deleted_at.is_(None),
            )
            .order_by(EnterpriseIssue.created_at.desc(), EnterpriseIssue.id.desc())
        ).scalars()
    )
