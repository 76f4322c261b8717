"""Set-ups and look-ups several test modules share.

They were copied from module to module as the features were written in
parallel; one copy keeps the test worlds alike (same names, same units).
Fixtures that need pytest's wiring (``switch``, ``client_for``) live in conftest.py.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from crm.models import FollowUp, FollowUpStatus, Role, TimelineEvent
from crm.visits.services import local_today


def today() -> date:
    """The bureau's today: due dates and visit dates are checked against it, not UTC's."""
    return local_today()


def two_counties(make_unit, make_user, *, manager: bool = False, leader: bool = True) -> dict:
    """Two counties: staff and a colleague in 翠屏区, ``other`` staff in 南溪区.

    Optionally a manager of 翠屏区 and a leader over everything. Users are created
    in the same order the modules always did, so ids stay as they were.
    """
    county_a, county_b = make_unit("翠屏区"), make_unit("南溪区")
    people = {"county_a": county_a, "county_b": county_b}
    people["staff"] = make_user(Role.STAFF, [county_a], name="张敏", locale="en")
    people["colleague"] = make_user(Role.STAFF, [county_a], name="李强", locale="en")
    if manager:
        people["manager"] = make_user(Role.MANAGER, [county_a], name="孙科长", locale="en")
    people["other"] = make_user(Role.STAFF, [county_b], name="王芳", locale="en")
    if leader:
        people["leader"] = make_user(Role.LEADER, name="赵局长", locale="en")
    return people


def count(db, model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def events(db, kind: str, subject_id: int | None = None) -> list[TimelineEvent]:
    """Timeline events of one kind, oldest first."""
    stmt = select(TimelineEvent).where(TimelineEvent.kind == kind).order_by(TimelineEvent.id)
    if subject_id is not None:
        stmt = stmt.where(TimelineEvent.subject_id == subject_id)
    return list(db.session.execute(stmt).scalars())


def add_follow_up(db, enterprise, owner, title, days, status=FollowUpStatus.OPEN) -> FollowUp:
    """Insert directly: past due dates cannot be entered through the service."""
    follow_up = FollowUp(
        enterprise_id=enterprise.id,
        title=title,
        due_date=today() + timedelta(days=days),
        owner_id=owner.id,
        status=status,
    )
    db.session.add(follow_up)
    db.session.commit()
    return follow_up
