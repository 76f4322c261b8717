"""The enterprise's file (一企一档) as one workbook: a sheet per kind of record, then the timeline.

Each sheet is one query over the enterprise's live records (collections loaded per
batch with ``selectinload``); the timeline, which can run to thousands of entries,
is streamed like a list export. Values read as on the file page: labels in the
reader's language, amounts in 万元, dates as dates.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from crm import labels
from crm.enterprises import timeline_display
from crm.exports import sheets
from crm.exports.lists import streamed
from crm.exports.sheets import joined
from crm.exports.xlsx_stream import Column, Sheet, xlsx_response
from crm.extensions import db
from crm.formatting import date_text, datetime_text
from crm.labels import FIELD
from crm.models import (
    Contact,
    Document,
    Enterprise,
    EnterpriseIssue,
    FollowUp,
    FundsEntry,
    IssueStep,
    Policy,
    Project,
    ProjectStageChange,
    SupervisionItem,
    TimelineEvent,
    User,
    Visit,
)

BY = _l("By")
WHEN = _l("When")


def _name(obj) -> str | None:
    return obj.name if obj is not None else None


def _yes(value: bool) -> str:
    return gettext("Yes") if value else ""


def _all(stmt) -> list:
    return list(db.session.execute(stmt).scalars())


# -- profile ----------------------------------------------------------------------------

PROFILE_COLUMNS = [
    Column(_l("Field"), lambda pair: pair[0], width=28),
    Column(_l("Value"), lambda pair: pair[1], "long_text", 60),
]


def _profile_rows(enterprise: Enterprise) -> list[tuple[str, str]]:
    field = labels.field_label
    return [
        (field("name"), enterprise.name),
        (field("name_en"), enterprise.name_en),
        (field("credit_code"), enterprise.credit_code),
        (gettext("Tags"), sheets.tag_text(enterprise)),
        (field("region"), enterprise.region),
        (field("address"), enterprise.address),
        (field("industry"), _name(enterprise.industry)),
        (field("chamber"), _name(enterprise.chamber)),
        (field("responsible"), _name(enterprise.responsible)),
        (field("units"), joined(u.name for u in enterprise.units)),
        (field("description"), enterprise.description),
        (gettext("Created"), date_text(enterprise.created_at)),
        (gettext("Last activity"), datetime_text(enterprise.last_activity_at)),
    ]


# -- the records --------------------------------------------------------------------------

CONTACT_COLUMNS = [
    Column(FIELD["name"], lambda c: c.name, width=14),
    Column(FIELD["title"], lambda c: c.title, width=18),
    Column(FIELD["phone"], lambda c: c.phone, width=16),
    Column(FIELD["email"], lambda c: c.email, width=24),
    Column(FIELD["wechat"], lambda c: c.wechat, width=16),
    Column(FIELD["is_main"], lambda c: _yes(c.is_main), width=10),
    Column(FIELD["known_by"], lambda c: _name(c.known_by), width=12),
    Column(FIELD["notes"], lambda c: c.notes, "long_text", 36),
]

DOSSIER_PROJECT_COLUMNS = [
    column for column in sheets.PROJECT_COLUMNS if column.header is not sheets.ENTERPRISE_HEADER
] + [Column(_l("Stage since"), lambda p: p.stage_since, "date", 14)]

STAGE_COLUMNS = [
    Column(_l("Project"), lambda pair: pair[1], width=28),
    Column(FIELD["stage"], lambda pair: labels.label(pair[0].to_stage), width=14),
    Column(_l("From"), lambda pair: labels.label(pair[0].from_stage), width=14),
    Column(_l("Effective date"), lambda pair: pair[0].effective_on, "date", 14),
    Column(_l("Irregular"), lambda pair: _yes(pair[0].is_irregular), width=9),
    Column(FIELD["reason"], lambda pair: pair[0].reason, "long_text", 30),
    Column(BY, lambda pair: _name(pair[0].recorded_by), width=12),
    Column(WHEN, lambda pair: pair[0].recorded_at, "datetime", 18),
]

FUNDS_COLUMNS = [
    Column(_l("ID"), lambda pair: pair[0].id, "int", 8),
    Column(_l("Project"), lambda pair: pair[1], width=28),
    Column(
        FIELD["month"],
        lambda pair: timeline_display.month_text(pair[0].month.isoformat()),
        width=12,
    ),
    Column(FIELD["source"], lambda pair: labels.label(pair[0].source), width=22),
    Column(FIELD["amount_wan"], lambda pair: pair[0].amount_wan, "amount", 16),
    Column(_l("Corrects"), lambda pair: pair[0].corrects_id, "int", 10),
    Column(FIELD["note"], lambda pair: pair[0].note, "long_text", 30),
    Column(BY, lambda pair: _name(pair[0].recorded_by), width=12),
    Column(WHEN, lambda pair: pair[0].recorded_at, "datetime", 18),
]

DOSSIER_ISSUE_COLUMNS = [
    column for column in sheets.ISSUE_COLUMNS if column.header is not sheets.ENTERPRISE_HEADER
]

STEP_COLUMNS = [
    Column(_l("ID"), lambda pair: pair[0].issue_id, "int", 8),
    Column(FIELD["issue"], lambda pair: pair[1], width=28),
    Column(_l("From"), lambda pair: labels.label(pair[0].from_status), width=12),
    Column(_l("To"), lambda pair: labels.label(pair[0].to_status), width=12),
    Column(WHEN, lambda pair: pair[0].at, "datetime", 18),
    Column(_l("Step deadline"), lambda pair: pair[0].due_at, "datetime", 18),
    Column(BY, lambda pair: _name(pair[0].actor), width=12),
    Column(FIELD["note"], lambda pair: pair[0].note, "long_text", 30),
    Column(_l("Satisfaction"), lambda pair: pair[0].satisfaction, "int", 10),
]

VISIT_COLUMNS = [
    Column(FIELD["visit_date"], lambda v: v.visit_date, "date", 14),
    Column(FIELD["kind"], lambda v: labels.label(v.kind), width=16),
    Column(FIELD["place"], lambda v: v.place, width=18),
    Column(FIELD["summary"], lambda v: v.summary, "long_text", 40),
    Column(FIELD["concerns"], lambda v: v.concerns, "long_text", 30),
    Column(FIELD["flag"], lambda v: labels.label(v.flag), width=14),
    Column(FIELD["participants"], lambda v: joined(u.name for u in v.participants), width=18),
    Column(FIELD["contacts_met"], lambda v: joined(c.name for c in v.contacts_met), width=18),
]

DOSSIER_FOLLOW_UP_COLUMNS = [
    column for column in sheets.FOLLOW_UP_COLUMNS if column.header is not sheets.ENTERPRISE_HEADER
]

POLICY_COLUMNS = [
    Column(FIELD["name"], lambda p: p.name, width=28),
    Column(FIELD["status"], lambda p: labels.label(p.status), width=12),
    Column(FIELD["value_wan"], lambda p: p.value_wan, "amount", 16),
    Column(FIELD["project"], lambda p: _name(p.project), width=24),
    Column(FIELD["basis"], lambda p: p.basis, width=24),
    Column(FIELD["conditions"], lambda p: p.conditions, "long_text", 36),
]

DOSSIER_SUPERVISION_COLUMNS = [
    column for column in sheets.SUPERVISION_COLUMNS if column.header is not sheets.ENTERPRISE_HEADER
]

DOCUMENT_COLUMNS = [
    Column(FIELD["title"], lambda d: d.title, width=28),
    Column(_l("File name"), lambda d: d.filename, width=28),
    Column(FIELD["kind"], lambda d: labels.label(d.kind), width=12),
    Column(_l("Size"), lambda d: d.size_bytes, "int", 12),
    Column(BY, lambda d: _name(d.uploaded_by), width=12),
    Column(WHEN, lambda d: d.created_at, "datetime", 18),
]


def _change_lines(event: TimelineEvent) -> str:
    return "\n".join(
        f"{change['field']}: {change['old']} → {change['new']}"
        for change in timeline_display.changes(event)
    )


TIMELINE_COLUMNS = [
    Column(WHEN, lambda e: e.occurred_at, "datetime", 18),
    Column(BY, lambda e: _name(e.actor) or gettext("System"), width=12),
    Column(FIELD["kind"], lambda e: timeline_display.kind_label(e.kind), width=18),
    Column(FIELD["title"], lambda e: (e.data or {}).get("title"), width=30),
    Column(FIELD["summary"], lambda e: (e.data or {}).get("text"), "long_text", 40),
    Column(_l("Changes"), _change_lines, "long_text", 40),
]


# -- the queries ----------------------------------------------------------------------------

_PERSON = lazyload(User.units)  # names only


def _projects(enterprise: Enterprise) -> list[Project]:
    return _all(
        select(Project)
        .options(
            lazyload(Project.enterprise),
            joinedload(Project.county).lazyload("*"),
            joinedload(Project.park).lazyload("*"),
            joinedload(Project.task_force).lazyload("*"),
        )
        .where(Project.enterprise_id == enterprise.id, Project.deleted_at.is_(None))
        .order_by(Project.created_at, Project.id)
    )


def _with_names(rows, names: dict[int, str], key: str) -> list[tuple]:
    """(row, its project's or issue's name) pairs: the sheets name what each row belongs to."""
    return [(row, names.get(getattr(row, key), "")) for row in rows]


def _stage_changes(project_names: dict[int, str]) -> list[tuple[ProjectStageChange, str]]:
    if not project_names:
        return []
    rows = _all(
        select(ProjectStageChange)
        .options(joinedload(ProjectStageChange.recorded_by).options(_PERSON))
        .where(ProjectStageChange.project_id.in_(project_names))
        .order_by(
            ProjectStageChange.project_id,
            ProjectStageChange.effective_on,
            ProjectStageChange.id,
        )
    )
    return _with_names(rows, project_names, "project_id")


def _funds(project_names: dict[int, str]) -> list[tuple[FundsEntry, str]]:
    if not project_names:
        return []
    rows = _all(
        select(FundsEntry)
        .options(joinedload(FundsEntry.recorded_by).options(_PERSON), lazyload(FundsEntry.corrects))
        .where(FundsEntry.project_id.in_(project_names))
        .order_by(FundsEntry.project_id, FundsEntry.month, FundsEntry.id)
    )
    return _with_names(rows, project_names, "project_id")


def _issues(enterprise: Enterprise) -> list[EnterpriseIssue]:
    return _all(
        select(EnterpriseIssue)
        .options(
            lazyload(EnterpriseIssue.enterprise),
            joinedload(EnterpriseIssue.assignee).options(_PERSON),
            joinedload(EnterpriseIssue.unit).lazyload("*"),
        )
        .where(EnterpriseIssue.enterprise_id == enterprise.id, EnterpriseIssue.deleted_at.is_(None))
        .order_by(EnterpriseIssue.created_at, EnterpriseIssue.id)
    )


def _steps(issue_titles: dict[int, str]) -> list[tuple[IssueStep, str]]:
    if not issue_titles:
        return []
    rows = _all(
        select(IssueStep)
        .options(joinedload(IssueStep.actor).options(_PERSON))
        .where(IssueStep.issue_id.in_(issue_titles))
        .order_by(IssueStep.issue_id, IssueStep.at, IssueStep.id)
    )
    return _with_names(rows, issue_titles, "issue_id")


def _visits(enterprise: Enterprise) -> list[Visit]:
    return _all(
        select(Visit)
        .options(
            lazyload(Visit.enterprise),
            selectinload(Visit.participants).options(_PERSON),
            selectinload(Visit.contacts_met).lazyload("*"),
        )
        .where(Visit.enterprise_id == enterprise.id, Visit.deleted_at.is_(None))
        .order_by(Visit.visit_date.desc(), Visit.id.desc())
    )


def _follow_ups(enterprise: Enterprise) -> list[FollowUp]:
    return _all(
        select(FollowUp)
        .options(
            lazyload(FollowUp.enterprise),
            lazyload(FollowUp.visit),
            joinedload(FollowUp.owner).options(_PERSON),
        )
        .where(FollowUp.enterprise_id == enterprise.id, FollowUp.deleted_at.is_(None))
        .order_by(FollowUp.due_date, FollowUp.id)
    )


def _policies(enterprise: Enterprise) -> list[Policy]:
    return _all(
        select(Policy)
        .options(lazyload(Policy.enterprise), joinedload(Policy.project).lazyload("*"))
        .where(Policy.enterprise_id == enterprise.id, Policy.deleted_at.is_(None))
        .order_by(Policy.created_at, Policy.id)
    )


def _supervision(enterprise: Enterprise) -> list[SupervisionItem]:
    return _all(
        select(SupervisionItem)
        .options(
            lazyload("*"),
            joinedload(SupervisionItem.unit).lazyload("*"),
            joinedload(SupervisionItem.owner).options(_PERSON),
            joinedload(SupervisionItem.project).lazyload("*"),
            joinedload(SupervisionItem.issue).lazyload("*"),
        )
        .where(SupervisionItem.enterprise_id == enterprise.id, SupervisionItem.deleted_at.is_(None))
        .order_by(SupervisionItem.due_date, SupervisionItem.id)
    )


def _documents(enterprise: Enterprise) -> list[Document]:
    return _all(
        select(Document)
        .options(lazyload(Document.enterprise), joinedload(Document.uploaded_by).options(_PERSON))
        .where(Document.enterprise_id == enterprise.id, Document.deleted_at.is_(None))
        .order_by(Document.created_at.desc(), Document.id.desc())
    )


def _timeline(enterprise: Enterprise) -> Iterator[TimelineEvent]:
    return streamed(
        select(TimelineEvent)
        .options(joinedload(TimelineEvent.actor).options(_PERSON))
        .where(TimelineEvent.enterprise_id == enterprise.id)
        .order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())
    )


def workbook_sheets(enterprise: Enterprise) -> list[Sheet]:
    projects = _projects(enterprise)
    project_names = {p.id: p.name for p in projects}
    issues = _issues(enterprise)
    issue_titles = {i.id: i.title for i in issues}
    return [
        Sheet(gettext("Profile"), PROFILE_COLUMNS, _profile_rows(enterprise)),
        Sheet(gettext("Contacts"), CONTACT_COLUMNS, _all(_contacts(enterprise))),
        Sheet(gettext("Projects"), DOSSIER_PROJECT_COLUMNS, projects),
        Sheet(gettext("Stage history"), STAGE_COLUMNS, _stage_changes(project_names)),
        Sheet(gettext("Funds in place"), FUNDS_COLUMNS, _funds(project_names)),
        Sheet(gettext("Enterprise issues"), DOSSIER_ISSUE_COLUMNS, issues),
        Sheet(gettext("Issue steps"), STEP_COLUMNS, _steps(issue_titles)),
        Sheet(gettext("Visits"), VISIT_COLUMNS, _visits(enterprise)),
        Sheet(gettext("Follow-ups"), DOSSIER_FOLLOW_UP_COLUMNS, _follow_ups(enterprise)),
        Sheet(gettext("Policy package (一企一策)"), POLICY_COLUMNS, _policies(enterprise)),
        Sheet(gettext("Supervision items"), DOSSIER_SUPERVISION_COLUMNS, _supervision(enterprise)),
        Sheet(gettext("Documents"), DOCUMENT_COLUMNS, _documents(enterprise)),
        Sheet(gettext("Timeline"), TIMELINE_COLUMNS, _timeline(enterprise)),
    ]


def _contacts(enterprise: Enterprise):
    return (
        select(Contact)
        .options(lazyload(Contact.enterprise), joinedload(Contact.known_by).options(_PERSON))
        .where(Contact.enterprise_id == enterprise.id, Contact.deleted_at.is_(None))
        .order_by(Contact.is_main.desc(), Contact.name)
    )


def response(enterprise: Enterprise):
    title = f"{gettext('Dossier')} {enterprise.name}"
    return xlsx_response(workbook_sheets(enterprise), title=title, slug=f"dossier-{enterprise.id}")
