"""How a timeline event reads on the file page, whatever feature recorded it.

Events keep raw values (enum keys, ISO dates, names as they were); labels and
formats are applied here, at display time, in the reader's language. Used by
``templates/timeline/_event.html`` through the template globals ``register`` adds.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm import labels
from crm.formatting import amount_wan, date_text, datetime_text
from crm.models import (
    CheckOutcome,
    FundsSource,
    IssueStatus,
    PolicyStatus,
    ProjectStage,
    TimelineEvent,
)
from crm.models import types as enum_types

KIND_LABELS = {
    "enterprise.created": _l("Enterprise registered"),
    "enterprise.updated": _l("Enterprise details changed"),
    "enterprise.deleted": _l("Enterprise deleted"),
    "enterprise.restored": _l("Enterprise restored"),
    "contact.created": _l("Contact added"),
    "contact.updated": _l("Contact changed"),
    "contact.deleted": _l("Contact removed"),
    "contact.restored": _l("Contact restored"),
    "visit.logged": _l("Visit logged"),
    "visit.updated": _l("Visit changed"),
    "visit.deleted": _l("Visit deleted"),
    "visit.restored": _l("Visit restored"),
    "follow_up.created": _l("Follow-up planned"),
    "follow_up.updated": _l("Follow-up changed"),
    "follow_up.done": _l("Follow-up done"),
    "follow_up.deleted": _l("Follow-up deleted"),
    "issue.created": _l("Issue raised"),
    "issue.updated": _l("Issue updated"),
    "issue.deleted": _l("Issue deleted"),
    "issue.restored": _l("Issue restored"),
    "issue.step": _l("Issue moved on"),
    "issue.reassigned": _l("Issue reassigned"),
    "note.added": _l("Note added"),
    "note.updated": _l("Note changed"),
    "note.deleted": _l("Note deleted"),
    "note.restored": _l("Note restored"),
    "document.attached": _l("Document attached"),
    "document.deleted": _l("Document deleted"),
    "document.restored": _l("Document restored"),
    "project.created": _l("Project created"),
    "project.updated": _l("Project changed"),
    "project.stage_changed": _l("Project stage changed"),
    "project.funds_recorded": _l("Funds in place recorded"),
    "project.funds_corrected": _l("Funds in place corrected"),
    "project.deleted": _l("Project deleted"),
    "project.restored": _l("Project restored"),
    "policy.created": _l("Policy added"),
    "policy.updated": _l("Policy changed"),
    "policy.deleted": _l("Policy deleted"),
    "policy.restored": _l("Policy restored"),
    "supervision.created": _l("Supervision item set"),
    "supervision.updated": _l("Supervision item changed"),
    "supervision.done": _l("Supervision item done"),
    "supervision.cancelled": _l("Supervision item cancelled"),
    "supervision.deleted": _l("Supervision item deleted"),
    "supervision.restored": _l("Supervision item restored"),
    "supervision.checked": _l("On-site check recorded"),
    "supervision.escalated": _l("Supervision item escalated"),
    "issue.escalated": _l("Issue escalated"),
    "follow_up.escalated": _l("Follow-up escalated"),
    "project_stalled.escalated": _l("Stalled project escalated"),
    "project_funds.escalated": _l("Missing funds report escalated"),
}

# Why an item was raised to a manager (Escalation.reason; the data of "*.escalated").
ESCALATION_REASONS = {
    "overdue": _l("Overdue"),
    "reopened": _l("Reopened: the enterprise was not satisfied"),
    "stalled": _l("Stalled"),
    "funds": _l("Funds in place not reported"),
}

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
VALUE_LIMIT = 200

# Where the subject of an event is shown; deleted subjects get no link.
_SUBJECT_LINKS = {
    "visit": ("visits.detail", "visit_id"),
    "issue": ("issues.detail", "issue_id"),
    "document": ("documents.download", "document_id"),
    "project": ("projects.detail", "project_id"),
    "supervision": ("supervision.detail", "item_id"),
    "project_stalled": ("projects.detail", "project_id"),
    "project_funds": ("projects.detail", "project_id"),
}

# The keys of Project.public_fields, as field names of the labels table.
_PUBLIC_FIELD_NAMES = {"contract_amount": "contract_amount_wan"}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def _enum_class(event: TimelineEvent, field: str):
    name = (event.data or {}).get("enum", {}).get(field)
    return getattr(enum_types, name, None) if name else None


def value_text(value: Any, field: str | None = None, event: TimelineEvent | None = None) -> str:
    """One old or new value of a change, as a person reads it."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if field == "public_fields" and isinstance(value, list):
        return "、".join(labels.field_label(_PUBLIC_FIELD_NAMES.get(v, v)) for v in value)
    if field is not None and field.endswith("_wan") and isinstance(value, str):
        # Amounts are kept as exact decimal text; the field's label names the unit.
        return _plain_number(value)
    if isinstance(value, list):
        return "、".join(value_text(v) for v in value)
    enum_class = _enum_class(event, field) if event is not None and field else None
    if enum_class is not None:
        return labels.enum_label(enum_class, value)
    if isinstance(value, str):
        if _ISO_DATE.match(value):
            return date_text(value)
        if _ISO_DATETIME.match(value):
            try:
                return datetime_text(value)
            except ValueError:
                return value
        if len(value) > VALUE_LIMIT:
            return value[: VALUE_LIMIT - 1] + "…"
    return str(value)


def _plain_number(text: str) -> str:
    """An amount's text without trailing zeros (50000.0000 reads 50000); non-numbers as they are."""
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return text
    plain = f"{number:f}"
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    return plain


def month_text(value: str | None) -> str:
    """A month kept as 2024-05: 2024年5月 in Chinese, May 2024 in English."""
    if not value:
        return ""
    try:
        day = date.fromisoformat(value[:7] + "-01")
    except ValueError:
        return value
    locale = get_locale()
    if locale is not None and locale.language == "zh":
        return f"{day.year}年{day.month}月"
    return format_date(day, "MMM y")


def project_details(event: TimelineEvent) -> dict | None:
    """What a project or policy event says beyond its title, in the reader's language.

    ``move``: the stage change (from, to, irregular); ``parts``: (label, value)
    pairs shown on one line; ``text_label``: what the event's free text is (the
    reason of a stage change, the note of a funds entry).
    """
    data = event.data or {}
    kind = event.kind
    if kind == "issue.step":
        return _issue_step_details(data)
    if kind == "issue.reassigned":
        return {"parts": [], "move": None, "text_label": _("Reason")}
    if event.kind in ESCALATED_KINDS:
        return _escalated_details(data)
    if event.subject_type == "supervision":
        return _supervision_details(event)
    if event.subject_type not in ("project", "policy"):
        return None
    parts: list[tuple[str, str]] = []
    move = None
    text_label = None
    if kind == "project.created":
        stage = labels.enum_label(ProjectStage, data.get("stage"))
        if stage:
            if data.get("stage_on"):
                stage = _("%(stage)s since %(date)s", stage=stage, date=date_text(data["stage_on"]))
            parts.append((labels.field_label("stage"), stage))
        if data.get("contract_amount_wan") is not None:
            parts.append(
                (labels.field_label("contract_amount_wan"), amount_wan(data["contract_amount_wan"]))
            )
        if data.get("county"):
            parts.append((labels.field_label("county"), str(data["county"])))
    elif kind == "project.stage_changed":
        move = {
            "from": labels.enum_label(ProjectStage, data.get("from_stage")) or None,
            "to": labels.enum_label(ProjectStage, data.get("to_stage")),
            "irregular": bool(data.get("irregular")),
        }
        if data.get("effective_on"):
            parts.append((_("Effective date"), date_text(data["effective_on"])))
        text_label = _("Reason")
    elif kind in ("project.funds_recorded", "project.funds_corrected"):
        parts.append((labels.field_label("month"), month_text(data.get("month"))))
        parts.append(
            (labels.field_label("source"), labels.enum_label(FundsSource, data.get("source")))
        )
        parts.append((labels.field_label("amount_wan"), amount_wan(data.get("amount_wan"))))
        if data.get("corrects_id"):
            parts.append((_("Corrects entry"), f"#{data['corrects_id']}"))
        text_label = _("Note")
    elif kind == "policy.created":
        if data.get("status"):
            parts.append(
                (labels.field_label("status"), labels.enum_label(PolicyStatus, data["status"]))
            )
        if data.get("value_wan") is not None:
            parts.append((labels.field_label("value_wan"), amount_wan(data["value_wan"])))
        if data.get("project"):
            parts.append((labels.field_label("project"), str(data["project"])))
    return {"parts": parts, "move": move, "text_label": text_label}


def _issue_step_details(data: dict) -> dict:
    """An issue's step: from → to, the satisfaction of a callback, the deadline it had."""
    parts: list[tuple[str, str]] = []
    if data.get("satisfaction") is not None:
        parts.append((_("Satisfaction"), f"{data['satisfaction']} / 5"))
    if data.get("due_at"):
        parts.append((_("Deadline"), value_text(data["due_at"])))
    if data.get("next_due_at"):
        parts.append((_("Next deadline"), value_text(data["next_due_at"])))
    move = {
        "from": labels.enum_label(IssueStatus, data.get("from")) or None,
        "to": labels.enum_label(IssueStatus, data.get("to")),
        "irregular": False,
        "late": bool(data.get("late")),
    }
    return {"parts": parts, "move": move, "text_label": _("Note")}


def _supervision_details(event: TimelineEvent) -> dict:
    """A supervision item's stage to reach, unit and owner; a check's day, outcome and photos."""
    data = event.data or {}
    parts: list[tuple[str, str]] = []
    text_label = None
    if event.kind == "supervision.created":
        if data.get("target_stage"):
            parts.append(
                (
                    labels.field_label("target_stage"),
                    labels.enum_label(ProjectStage, data["target_stage"]),
                )
            )
        for field in ("unit", "owner"):
            if data.get(field):
                parts.append((labels.field_label(field), str(data[field])))
        text_label = labels.field_label("note")
    elif event.kind == "supervision.checked":
        parts.append((labels.field_label("checked_on"), value_text(data.get("checked_on"))))
        parts.append(
            (labels.field_label("outcome"), labels.enum_label(CheckOutcome, data.get("outcome")))
        )
        if data.get("photos"):
            parts.append((_("Photos"), str(data["photos"])))
        text_label = labels.field_label("findings")
    elif event.kind == "supervision.done" and data.get("late"):
        parts.append((_("Done after the due date"), _("Yes")))
    elif event.kind == "supervision.cancelled":
        text_label = labels.field_label("reason")
    elif event.kind == "supervision.escalated":
        if data.get("level") is not None:
            parts.append((_("Level"), str(data["level"])))
        if data.get("unit"):
            parts.append((labels.field_label("unit"), str(data["unit"])))
    return {"parts": parts, "move": None, "text_label": text_label}


ESCALATED_KINDS = (
    "issue.escalated",
    "follow_up.escalated",
    "project_stalled.escalated",
    "project_funds.escalated",
)


def escalation_reason(reason: str | None) -> str:
    return str(ESCALATION_REASONS.get(reason, reason or ""))


def _escalated_details(data: dict) -> dict:
    """An escalation: the level, the unit whose managers were told, why."""
    parts: list[tuple[str, str]] = []
    if data.get("level") is not None:
        parts.append((_("Level"), str(data["level"])))
    if data.get("unit"):
        parts.append((labels.field_label("unit"), str(data["unit"])))
    if data.get("reason"):
        parts.append((labels.field_label("reason"), escalation_reason(data["reason"])))
    return {"parts": parts, "move": None, "text_label": None}


def changes(event: TimelineEvent) -> list[dict[str, str]]:
    """The event's field changes with translated field labels and readable values."""
    return [
        {
            "field": labels.field_label(change.get("field", "")),
            "old": value_text(change.get("old"), change.get("field"), event),
            "new": value_text(change.get("new"), change.get("field"), event),
        }
        for change in (event.data or {}).get("changes", [])
    ]


def flag(event: TimelineEvent) -> str | None:
    """'red' or 'yellow' when the event carries (or changes to) such a flag."""
    data = event.data or {}
    value = data.get("flag")
    for change in data.get("changes", []):
        if change.get("field") == "flag":
            value = change.get("new")
    return value if value in ("red", "yellow") else None


def subject_url(event: TimelineEvent) -> str | None:
    link = _SUBJECT_LINKS.get(event.subject_type)
    if link is None or event.subject_id is None or event.kind.endswith(".deleted"):
        return None
    endpoint, argument = link
    return url_for(endpoint, **{argument: event.subject_id})


def related_links(event: TimelineEvent) -> list[tuple[str, str]]:
    """Links named in the payload (visit_id, issue_id, document_id) other than the subject."""
    data = event.data or {}
    found = []
    for key, (endpoint, argument), text in (
        ("visit_id", _SUBJECT_LINKS["visit"], _l("Visit")),
        ("issue_id", _SUBJECT_LINKS["issue"], _l("Issue")),
        ("document_id", _SUBJECT_LINKS["document"], _l("Document")),
        ("project_id", _SUBJECT_LINKS["project"], _l("Project")),
    ):
        ident = data.get(key)
        if not isinstance(ident, int):
            continue
        if event.subject_type == key[:-3] and ident == event.subject_id:
            continue
        found.append((str(text), url_for(endpoint, **{argument: ident})))
    if event.kind in ESCALATED_KINDS and not data.get("title"):
        # An escalation's payload names no title: the link to its item stands in.
        url = subject_url(event)
        if url is not None:
            text = _l("Issue") if event.subject_type == "issue" else _l("Project")
            found.append((str(text), url))
    return found


TEMPLATE_GLOBALS = {
    "timeline_kind_label": kind_label,
    "timeline_changes": changes,
    "timeline_flag": flag,
    "timeline_subject_url": subject_url,
    "timeline_related_links": related_links,
    "timeline_value": value_text,
    "timeline_project_details": project_details,
    "escalation_reason": escalation_reason,
}


def register(app) -> None:
    # Globals, not context: the timeline partial is imported as a macro, by any
    # feature's page, and imported macros see globals only.
    app.jinja_env.globals.update(TEMPLATE_GLOBALS)
