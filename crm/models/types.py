"""Enumerations stored as short strings (portable; no native ENUM to migrate)."""

from __future__ import annotations

import enum

from sqlalchemy import Enum as SAEnum


def str_enum(enum_class: type[enum.Enum]) -> SAEnum:
    return SAEnum(
        enum_class,
        native_enum=False,
        length=24,
        validate_strings=True,
        values_callable=lambda cls: [member.value for member in cls],
    )


class Role(enum.StrEnum):
    ADMIN = "admin"
    LEADER = "leader"
    MANAGER = "manager"
    STAFF = "staff"


class UnitKind(enum.StrEnum):
    BUREAU = "bureau"
    COUNTY = "county"
    PARK = "park"
    TASK_FORCE = "task_force"
    OUTBOUND_OFFICE = "outbound_office"


class VisitKind(enum.StrEnum):
    DOOR_KNOCKING = "door_knocking"
    LEADER_TRIP = "leader_trip"
    INBOUND_INSPECTION = "inbound_inspection"
    PROMOTION_EVENT = "promotion_event"
    SIGNING_CEREMONY = "signing_ceremony"
    CALL = "call"


class Flag(enum.StrEnum):
    NONE = "none"
    YELLOW = "yellow"
    RED = "red"


class FollowUpStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class IssueCategory(enum.StrEnum):
    LAND = "land"
    POWER = "power"
    FINANCING = "financing"
    PERMITS = "permits"
    STAFF = "staff"
    LOGISTICS = "logistics"
    POLICY = "policy"
    OTHER = "other"


class IssueStatus(enum.StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CALLBACK = "callback"
    CLOSED = "closed"


class DocumentKind(enum.StrEnum):
    CONTRACT = "contract"
    LETTER = "letter"
    PHOTO = "photo"
    REPORT = "report"
    OTHER = "other"


class ProjectStage(enum.StrEnum):
    """The lifecycle of an investment project, in order; TERMINATED can follow any stage."""

    RESERVE = "reserve"
    NEGOTIATION = "negotiation"
    SIGNED = "signed"
    LANDED = "landed"
    STARTED = "started"
    PRODUCING = "producing"
    REACHED_TARGET = "reached_target"
    TERMINATED = "terminated"


# The stages a project climbs through, lowest first (TERMINATED is off the ladder).
STAGE_LADDER: tuple[ProjectStage, ...] = (
    ProjectStage.RESERVE,
    ProjectStage.NEGOTIATION,
    ProjectStage.SIGNED,
    ProjectStage.LANDED,
    ProjectStage.STARTED,
    ProjectStage.PRODUCING,
    ProjectStage.REACHED_TARGET,
)


class AttractionChannel(enum.StrEnum):
    INDUSTRY_CHAIN = "industry_chain"
    FUND = "fund"
    DOOR_KNOCKING = "door_knocking"
    CHAMBER = "chamber"
    LEADER_LED = "leader_led"
    OUTBOUND_OFFICE = "outbound_office"
    OTHER = "other"


class OutboundRole(enum.StrEnum):
    LEAD_CAPTURE = "lead_capture"
    NEGOTIATION = "negotiation"
    SIGNING = "signing"


class FundsSource(enum.StrEnum):
    OUTSIDE_PROVINCE = "outside_province"
    OUTSIDE_CITY = "outside_city"
    WITHIN_CITY = "within_city"


class PolicyStatus(enum.StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    HONOURED = "honoured"
    CLAWED_BACK = "clawed_back"


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its time
    QUEUED = "queued"  # claimed by a sweep, a send task is on its way
    SENT = "sent"
    FAILED = "failed"  # refused for good (5xx); shown to admins, not retried
    CANCELLED = "cancelled"  # its occasion passed: the item was done, moved or reassigned
    HELD = "held"  # the recipient reads a daily digest: it waits for the next one


class SupervisionStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class CheckOutcome(enum.StrEnum):
    """What an on-site verification (实地核查) found."""

    ON_TRACK = "on_track"
    BEHIND = "behind"
    DONE = "done"
