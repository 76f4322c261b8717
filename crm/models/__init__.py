"""All models, importable from one place (Alembic and the app import this)."""

from crm.models.activity import (
    Document,
    EnterpriseIssue,
    FollowUp,
    TimelineEvent,
    Visit,
    visit_contact,
    visit_participant,
)
from crm.models.enterprise import Contact, Enterprise, EnterpriseGram, Note, enterprise_unit
from crm.models.org import LoginAttempt, OrgUnit, User, user_unit
from crm.models.reference import Chamber, Industry
from crm.models.types import (
    DocumentKind,
    Flag,
    FollowUpStatus,
    IssueCategory,
    IssueStatus,
    Role,
    UnitKind,
    VisitKind,
)

__all__ = [
    "Chamber",
    "Contact",
    "Document",
    "DocumentKind",
    "Enterprise",
    "EnterpriseGram",
    "EnterpriseIssue",
    "Flag",
    "FollowUp",
    "FollowUpStatus",
    "Industry",
    "IssueCategory",
    "IssueStatus",
    "LoginAttempt",
    "Note",
    "OrgUnit",
    "Role",
    "TimelineEvent",
    "UnitKind",
    "User",
    "Visit",
    "VisitKind",
    "enterprise_unit",
    "user_unit",
    "visit_contact",
    "visit_participant",
]
