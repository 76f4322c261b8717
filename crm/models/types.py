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


class Role(str, enum.Enum):
    ADMIN = "admin"
    LEADER = "leader"
    MANAGER = "manager"
    STAFF = "staff"


class UnitKind(str, enum.Enum):
    BUREAU = "bureau"
    COUNTY = "county"
    PARK = "park"
    TASK_FORCE = "task_force"
    OUTBOUND_OFFICE = "outbound_office"


class VisitKind(str, enum.Enum):
    DOOR_KNOCKING = "door_knocking"
    LEADER_TRIP = "leader_trip"
    INBOUND_INSPECTION = "inbound_inspection"
    PROMOTION_EVENT = "promotion_event"
    SIGNING_CEREMONY = "signing_ceremony"
    CALL = "call"


class Flag(str, enum.Enum):
    NONE = "none"
    YELLOW = "yellow"
    RED = "red"


class FollowUpStatus(str, enum.Enum):
    OPEN = "open"
    DONE = "done"


class IssueCategory(str, enum.Enum):
    LAND = "land"
    POWER = "power"
    FINANCING = "financing"
    PERMITS = "permits"
    STAFF = "staff"
    LOGISTICS = "logistics"
    POLICY = "policy"
    OTHER = "other"


class IssueStatus(str, enum.Enum):
    NEW = "new"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CALLBACK = "callback"
    CLOSED = "closed"


class DocumentKind(str, enum.Enum):
    CONTRACT = "contract"
    LETTER = "letter"
    PHOTO = "photo"
    REPORT = "report"
    OTHER = "other"
