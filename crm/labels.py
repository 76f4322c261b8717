"""Translated labels for enum values, tags and field names.

Stored values are stable English keys; what a person reads comes from here,
in their language, at display time (timeline events included).
"""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l

from crm.models.types import (
    AttractionChannel,
    CheckOutcome,
    DocumentKind,
    Flag,
    FollowUpStatus,
    FundsSource,
    IssueCategory,
    IssueStatus,
    OutboundRole,
    PolicyStatus,
    ProjectStage,
    ReminderStatus,
    Role,
    SupervisionStatus,
    UnitKind,
    VisitKind,
)

ROLE = {
    Role.ADMIN: _l("Administrator"),
    Role.LEADER: _l("Leader"),
    Role.MANAGER: _l("Manager"),
    Role.STAFF: _l("Service staff"),
}

UNIT_KIND = {
    UnitKind.BUREAU: _l("Bureau"),
    UnitKind.COUNTY: _l("County / district"),
    UnitKind.PARK: _l("Park / new area"),
    UnitKind.TASK_FORCE: _l("Industry task force"),
    UnitKind.OUTBOUND_OFFICE: _l("Outbound office"),
}

VISIT_KIND = {
    VisitKind.DOOR_KNOCKING: _l("Door-knocking visit"),
    VisitKind.LEADER_TRIP: _l("Leader-led trip"),
    VisitKind.INBOUND_INSPECTION: _l("Inbound inspection"),
    VisitKind.PROMOTION_EVENT: _l("Promotion event"),
    VisitKind.SIGNING_CEREMONY: _l("Signing ceremony"),
    VisitKind.CALL: _l("Phone / video call"),
}

FLAG = {
    Flag.NONE: _l("No flag"),
    Flag.YELLOW: _l("Yellow: important, not urgent"),
    Flag.RED: _l("Red: urgent"),
}

FOLLOW_UP_STATUS = {
    FollowUpStatus.OPEN: _l("Open"),
    FollowUpStatus.DONE: _l("Done"),
}

ISSUE_CATEGORY = {
    IssueCategory.LAND: _l("Land"),
    IssueCategory.POWER: _l("Power and utilities"),
    IssueCategory.FINANCING: _l("Financing"),
    IssueCategory.PERMITS: _l("Permits and approvals"),
    IssueCategory.STAFF: _l("Staff and hiring"),
    IssueCategory.LOGISTICS: _l("Logistics"),
    IssueCategory.POLICY: _l("Policy"),
    IssueCategory.OTHER: _l("Other"),
}

ISSUE_STATUS = {
    IssueStatus.NEW: _l("New"),
    IssueStatus.ACCEPTED: _l("Accepted"),
    IssueStatus.IN_PROGRESS: _l("In progress"),
    IssueStatus.RESOLVED: _l("Resolved"),
    IssueStatus.CALLBACK: _l("Called back"),
    IssueStatus.CLOSED: _l("Closed"),
}

DOCUMENT_KIND = {
    DocumentKind.CONTRACT: _l("Contract"),
    DocumentKind.LETTER: _l("Letter"),
    DocumentKind.PHOTO: _l("Photo"),
    DocumentKind.REPORT: _l("Report"),
    DocumentKind.OTHER: _l("Other document"),
}

PROJECT_STAGE = {
    ProjectStage.RESERVE: _l("Reserve"),
    ProjectStage.NEGOTIATION: _l("In negotiation"),
    ProjectStage.SIGNED: _l("Signed"),
    ProjectStage.LANDED: _l("Landed"),
    ProjectStage.STARTED: _l("Construction started"),
    ProjectStage.PRODUCING: _l("Completed and producing"),
    ProjectStage.REACHED_TARGET: _l("Reached design output"),
    ProjectStage.TERMINATED: _l("Terminated"),
}

ATTRACTION_CHANNEL = {
    AttractionChannel.INDUSTRY_CHAIN: _l("Industry-chain promotion"),
    AttractionChannel.FUND: _l("Fund-led promotion"),
    AttractionChannel.DOOR_KNOCKING: _l("Door-knocking"),
    AttractionChannel.CHAMBER: _l("Chamber of commerce"),
    AttractionChannel.LEADER_LED: _l("Leader-led"),
    AttractionChannel.OUTBOUND_OFFICE: _l("Outbound office"),
    AttractionChannel.OTHER: _l("Other channel"),
}

OUTBOUND_ROLE = {
    OutboundRole.LEAD_CAPTURE: _l("Lead capture"),
    OutboundRole.NEGOTIATION: _l("Negotiation"),
    OutboundRole.SIGNING: _l("Signing"),
}

FUNDS_SOURCE = {
    FundsSource.OUTSIDE_PROVINCE: _l("Outside the province"),
    FundsSource.OUTSIDE_CITY: _l("Outside the city (in the province)"),
    FundsSource.WITHIN_CITY: _l("Within the city"),
}

POLICY_STATUS = {
    PolicyStatus.PROPOSED: _l("Proposed"),
    PolicyStatus.APPROVED: _l("Approved"),
    PolicyStatus.HONOURED: _l("Honoured"),
    PolicyStatus.CLAWED_BACK: _l("Clawed back"),
}

REMINDER_STATUS = {
    ReminderStatus.PENDING: _l("Waiting"),
    ReminderStatus.QUEUED: _l("Queued"),
    ReminderStatus.SENT: _l("Sent"),
    ReminderStatus.FAILED: _l("Failed"),
    ReminderStatus.CANCELLED: _l("Not needed any more"),
    ReminderStatus.HELD: _l("Held for the daily digest"),
}

SUPERVISION_STATUS = {
    SupervisionStatus.OPEN: _l("Open"),
    SupervisionStatus.DONE: _l("Done"),
    SupervisionStatus.CANCELLED: _l("Cancelled"),
}

CHECK_OUTCOME = {
    CheckOutcome.ON_TRACK: _l("On track"),
    CheckOutcome.BEHIND: _l("Behind schedule"),
    CheckOutcome.DONE: _l("Completed"),
}

TAG = {
    "fortune_global_500": _l("Fortune Global 500"),
    "china_top_500": _l("China Top 500"),
    "china_private_500": _l("China Private Top 500"),
    "is_listed": _l("Listed company"),
    "is_foreign_invested": _l("Foreign-invested"),
    "is_settled": _l("Settled here"),
    "is_reinvesting": _l("Reinvesting"),
}

# Field names as they appear in "who changed what" lines of the file.
FIELD = {
    "credit_code": _l("Unified social credit code"),
    "name": _l("Name"),
    "name_en": _l("English name"),
    "region": _l("Headquarters region"),
    "address": _l("Address"),
    "industry": _l("Industry"),
    "fortune_global_500_year": _l("Fortune Global 500 (list year)"),
    "china_top_500_year": _l("China Top 500 (list year)"),
    "china_private_500_year": _l("China Private Top 500 (list year)"),
    "is_listed": _l("Listed company"),
    "is_foreign_invested": _l("Foreign-invested"),
    "is_settled": _l("Settled here"),
    "is_reinvesting": _l("Reinvesting"),
    "chamber": _l("Chamber of commerce"),
    "responsible": _l("Responsible staff"),
    "units": _l("Units"),
    "description": _l("Description"),
    "title": _l("Title"),
    "phone": _l("Phone"),
    "email": _l("Email"),
    "wechat": _l("WeChat"),
    "is_main": _l("Main contact"),
    "known_by": _l("Known by"),
    "notes": _l("Notes"),
    "kind": _l("Type"),
    "visit_date": _l("Date"),
    "place": _l("Place"),
    "summary": _l("Summary"),
    "concerns": _l("Concerns raised"),
    "flag": _l("Flag"),
    "participants": _l("Who went"),
    "contacts_met": _l("Contacts met"),
    "due_date": _l("Due date"),
    "owner": _l("Owner"),
    "status": _l("Status"),
    "category": _l("Category"),
    "assignee": _l("Assigned to"),
    "unit": _l("Unit"),
    "body": _l("Note"),
    "description_en": _l("English description"),
    "county": _l("County / district"),
    "park": _l("Park / new area"),
    "task_force": _l("Industry task force"),
    "channel": _l("Attraction channel"),
    "outbound_office": _l("Outbound office"),
    "outbound_role": _l("Role of the outbound office"),
    "contract_amount_wan": _l("Contract amount (万元)"),
    "is_out_of_province": _l("Investor from outside the province"),
    "is_reinvestment": _l("Reinvestment"),
    "fdi_usd_wan": _l("FDI (万美元)"),
    "platform_number": _l("City platform project number"),
    "committed_investment_wan": _l("Committed investment (万元)"),
    "committed_output_wan": _l("Committed yearly output (万元)"),
    "committed_tax_wan": _l("Committed yearly tax (万元)"),
    "committed_jobs": _l("Committed jobs"),
    "planned_start_on": _l("Planned start of construction"),
    "is_promoted": _l("On the public opportunity list"),
    "public_fields": _l("Fields shown publicly"),
    "stage": _l("Stage"),
    "basis": _l("Basis document"),
    "value_wan": _l("Value (万元)"),
    "conditions": _l("Conditions"),
    "project": _l("Project"),
    "amount_wan": _l("Amount (万元)"),
    "source": _l("Source"),
    "month": _l("Month"),
    "target_stage": _l("Target stage"),
    "note": _l("Note"),
    "issue": _l("Enterprise issue"),
    "checked_on": _l("Day of the check"),
    "outcome": _l("Outcome"),
    "findings": _l("Findings"),
    "reason": _l("Reason"),
}

_BY_ENUM: dict[type[enum.Enum], dict] = {
    Role: ROLE,
    UnitKind: UNIT_KIND,
    VisitKind: VISIT_KIND,
    Flag: FLAG,
    FollowUpStatus: FOLLOW_UP_STATUS,
    IssueCategory: ISSUE_CATEGORY,
    IssueStatus: ISSUE_STATUS,
    DocumentKind: DOCUMENT_KIND,
    ProjectStage: PROJECT_STAGE,
    AttractionChannel: ATTRACTION_CHANNEL,
    OutboundRole: OUTBOUND_ROLE,
    FundsSource: FUNDS_SOURCE,
    PolicyStatus: POLICY_STATUS,
    ReminderStatus: REMINDER_STATUS,
    SupervisionStatus: SUPERVISION_STATUS,
    CheckOutcome: CHECK_OUTCOME,
}


def label(value) -> str:
    """The translated label of an enum member (or its raw value if unknown)."""
    if isinstance(value, enum.Enum):
        table = _BY_ENUM.get(type(value), {})
        return str(table.get(value, value.value))
    return "" if value is None else str(value)


def choices(enum_class: type[enum.Enum]) -> list[tuple[str, str]]:
    """(value, lazy label) pairs for a select field, in definition order."""
    table = _BY_ENUM[enum_class]
    return [(member.value, table[member]) for member in enum_class]


def enum_label(enum_class: type[enum.Enum], raw: str | None) -> str:
    """Label of a stored raw value (as kept in timeline JSON)."""
    if raw is None:
        return ""
    try:
        return label(enum_class(raw))
    except ValueError:
        return str(raw)


def field_label(field: str) -> str:
    return str(FIELD.get(field, field))
