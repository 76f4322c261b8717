"""What the home page shows a signed-in user: a fixed, small number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.access import Access
from crm.clock import local_today
from crm.extensions import db
from crm.issues.services import issues_query
from crm.models import Enterprise, EnterpriseIssue, Flag, FollowUp, FollowUpStatus, Visit
from crm.visits.services import follow_ups_query

LIMIT = 10
RED_FLAG_DAYS = 30


@dataclass
class Dashboard:
    today: date
    follow_ups: list[FollowUp] = field(default_factory=list)
    issues: list[EnterpriseIssue] = field(default_factory=list)
    red_visits: list[Visit] = field(default_factory=list)
    enterprises: list[Enterprise] = field(default_factory=list)


def _all(stmt) -> list:
    return list(db.session.execute(stmt).unique().scalars())


def dashboard(access: Access) -> Dashboard:
    user = access.user
    scope = access.enterprise_scope()
    today = local_today()
    board = Dashboard(today=today)
    board.follow_ups = _all(
        follow_ups_query(scope, owner=user, status=FollowUpStatus.OPEN).limit(LIMIT)
    )
    board.issues = _all(issues_query(scope, status="open", assignee_id=user.id).limit(LIMIT))
    board.red_visits = _all(
        select(Visit)
        .join(Enterprise, Enterprise.id == Visit.enterprise_id)
        .options(joinedload(Visit.enterprise))
        .where(
            scope,
            Enterprise.deleted_at.is_(None),
            Visit.deleted_at.is_(None),
            Visit.flag == Flag.RED,
            Visit.visit_date >= today - timedelta(days=RED_FLAG_DAYS),
        )
        .order_by(Visit.visit_date.desc(), Visit.id.desc())
        .limit(LIMIT)
    )
    board.enterprises = _all(
        select(Enterprise)
        .where(Enterprise.responsible_id == user.id, Enterprise.deleted_at.is_(None))
        .order_by(Enterprise.last_activity_at.desc(), Enterprise.id.desc())
        .limit(LIMIT)
    )
    return board
