"""Read-side queries of the register and the file page, each a bounded number of statements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, text
from sqlalchemy.orm import joinedload, lazyload

from crm.access import Access, Action
from crm.enterprises import search
from crm.extensions import db
from crm.models import (
    Chamber,
    Contact,
    Document,
    Enterprise,
    EnterpriseIssue,
    FollowUp,
    FollowUpStatus,
    Industry,
    IssueStatus,
    OrgUnit,
    Role,
    TimelineEvent,
    User,
    enterprise_unit,
    user_unit,
)

# Counting every match of a common character (公: all 100,000 names) would cost
# more than the page itself; above this the page says "more than 500" (ten
# pages: enough to tell the user to narrow the search).
COUNT_CAP = 500

TAG_CONDITIONS = {
    "fortune_global_500": lambda: Enterprise.fortune_global_500_year.is_not(None),
    "china_top_500": lambda: Enterprise.china_top_500_year.is_not(None),
    "china_private_500": lambda: Enterprise.china_private_500_year.is_not(None),
    "is_listed": lambda: Enterprise.is_listed.is_(True),
    "is_foreign_invested": lambda: Enterprise.is_foreign_invested.is_(True),
    "is_settled": lambda: Enterprise.is_settled.is_(True),
    "is_reinvesting": lambda: Enterprise.is_reinvesting.is_(True),
}


# The people shown next to contacts, follow-ups and entries need their names
# only; without this, every batch of users loads their units (User.units is
# eager) in one more query.
_JUST_THE_PERSON = lazyload(User.units)


# -- reference lists for forms and filters ------------------------------------------


def industries() -> list[Industry]:
    stmt = select(Industry).where(Industry.is_active.is_(True))
    return list(db.session.execute(stmt.order_by(Industry.sort_order, Industry.name)).scalars())


def chambers() -> list[Chamber]:
    stmt = select(Chamber).where(Chamber.is_active.is_(True)).order_by(Chamber.name)
    return list(db.session.execute(stmt).scalars())


def units(access: Access) -> list[OrgUnit]:
    return list(db.session.execute(access.units()).scalars())


def people_in_scope(access: Access) -> list[User]:
    """Active staff and managers of the viewer's units (everyone's for global roles)."""
    stmt = select(User).where(User.active.is_(True), User.role.in_([Role.STAFF, Role.MANAGER]))
    if not access.sees_everything:
        members = select(user_unit.c.user_id).where(user_unit.c.unit_id.in_(access.unit_ids))
        stmt = stmt.where(User.id.in_(members))
    return list(db.session.execute(stmt.order_by(User.name)).scalars())


def responsible_choices(access: Access, current: User | None) -> list[User]:
    """Whom the viewer may make responsible: anyone in scope for managers, else no change."""
    if not access.role_allows(Action.MANAGE):
        return [current] if current else []
    people = people_in_scope(access)
    for person in (current, access.user):
        if person is not None and person not in people:
            people.append(person)
    return people


# -- the register ---------------------------------------------------------------------


@dataclass
class Filters:
    q: str = ""
    tag: str = ""
    unit_id: int | None = None
    responsible_id: int | None = None
    industry_id: int | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """Every filter but the search text (which needs a plan, see list_enterprises)."""
        found: list[ColumnElement[bool]] = []
        if self.tag in TAG_CONDITIONS:
            found.append(TAG_CONDITIONS[self.tag]())
        if self.unit_id:
            found.append(_in_unit_tree(self.unit_id))
        if self.responsible_id:
            found.append(Enterprise.responsible_id == self.responsible_id)
        if self.industry_id:
            found.append(Enterprise.industry_id == self.industry_id)
        return found


def _in_unit_tree(unit_id: int) -> ColumnElement[bool]:
    """Attached to the unit or to any unit below it."""
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None:
        return Enterprise.id.is_(None)
    below = select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path))
    return Enterprise.id.in_(
        select(enterprise_unit.c.enterprise_id).where(enterprise_unit.c.unit_id.in_(below))
    )


@dataclass
class ResultPage:
    items: list[Enterprise]
    page: int
    per_page: int
    total: int  # capped at COUNT_CAP + 1
    has_next: bool
    at_least: bool = False  # total is only a lower bound ("more than")

    @property
    def total_is_capped(self) -> bool:
        return self.total > COUNT_CAP

    @property
    def has_prev(self) -> bool:
        return self.page > 1


# The register's order: most recently active first.
NEWEST_FIRST = (Enterprise.last_activity_at.desc(), Enterprise.id.desc())


def register_conditions(
    access: Access, filters: Filters
) -> tuple[list[ColumnElement[bool]], search.Plan]:
    """What the register shows this viewer with these filters: live, in scope, matching.

    The page and the .xlsx export both start here, so a file never holds a row
    its reader could not find in the list.
    """
    plan = search.plan(filters.q)
    conditions = [
        Enterprise.deleted_at.is_(None),
        access.enterprise_scope(),
        *filters.conditions(),
        plan.condition,
    ]
    return conditions, plan


def list_enterprises(access: Access, filters: Filters, *, page: int, per_page: int) -> ResultPage:
    """One page of the register, most recently active first.

    Statements: the search plan probe (Chinese text only), the rows (with
    industry, chamber and responsible joined) and their units (one IN query),
    plus either the sort keys of every candidate (when the gram index left few)
    or a count that stops at COUNT_CAP.
    """
    _serial_plans_on_postgresql()
    conditions, plan = register_conditions(access, filters)
    if plan.few:
        return _page_of_few(conditions, page=page, per_page=per_page)
    newest_first = NEWEST_FIRST
    ids = select(Enterprise.id).where(*conditions).order_by(*newest_first)
    # The page's ids first, the rows with their joined industry, chamber and
    # responsible person after: joined up front, PostgreSQL joins every match
    # before it sorts and cuts (20 ms for a character in 5% of names).
    page_ids = ids.limit(per_page + 1).offset((page - 1) * per_page).subquery()
    stmt = select(Enterprise).join(page_ids, Enterprise.id == page_ids.c.id).order_by(*newest_first)
    rows = list(db.session.execute(stmt).scalars())
    has_next = len(rows) > per_page
    items = rows[:per_page]
    if not has_next:
        total = (page - 1) * per_page + len(items)
    elif filters.q:
        # Walking the register means the matches are dense: counting them
        # would cost more than finding the page, so say "more than" instead.
        return ResultPage(
            items=items,
            page=page,
            per_page=per_page,
            total=page * per_page,
            has_next=True,
            at_least=True,
        )
    else:
        # Counted along the page's own index walk, which stops at the cap; left
        # to itself PostgreSQL would hash-join every candidate first.
        capped = ids.limit(COUNT_CAP + 1).subquery()
        total = db.session.execute(select(func.count()).select_from(capped)).scalar_one()
    return ResultPage(items=items, page=page, per_page=per_page, total=total, has_next=has_next)


def _serial_plans_on_postgresql() -> None:
    """No parallel workers for this request's register queries.

    A page stops after 51 rows, well before parallel workers pay for their
    start-up: measured on the 100,000-enterprise benchmark, a staff member's
    one-character search took 17 ms with two workers and 8 ms without.
    SET LOCAL ends with the request's transaction.
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def _page_of_few(conditions, *, page: int, per_page: int) -> ResultPage:
    """Sort keys of every match (a bounded few), then the rows of one page.

    Sorting a few thousand (id, time) pairs here is cheaper than letting the
    database sort whole rows, and the count comes free and exact.
    """
    keys = db.session.execute(
        select(Enterprise.id, Enterprise.last_activity_at).where(*conditions)
    ).all()
    keys.sort(key=lambda row: (row[1] or _EPOCH, row[0]), reverse=True)
    start = (page - 1) * per_page
    page_ids = [row[0] for row in keys[start : start + per_page]]
    items: list[Enterprise] = []
    if page_ids:
        found = {
            e.id: e
            for e in db.session.execute(
                select(Enterprise).where(Enterprise.id.in_(page_ids))
            ).scalars()
        }
        items = [found[i] for i in page_ids if i in found]
    return ResultPage(
        items=items,
        page=page,
        per_page=per_page,
        total=len(keys),
        has_next=len(keys) > start + per_page,
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- the file (一企一档) -------------------------------------------------------------------


@dataclass
class FileContents:
    contacts: list[Contact]
    follow_ups: list[FollowUp]
    issues: list[EnterpriseIssue]
    documents: list[Document]


def file_contents(enterprise: Enterprise, *, documents_limit: int = 50) -> FileContents:
    contacts = db.session.execute(
        select(Contact)
        .options(joinedload(Contact.known_by).options(_JUST_THE_PERSON))
        .where(Contact.enterprise_id == enterprise.id, Contact.deleted_at.is_(None))
        .order_by(Contact.is_main.desc(), Contact.name)
    ).scalars()
    follow_ups = db.session.execute(
        select(FollowUp)
        .options(joinedload(FollowUp.owner).options(_JUST_THE_PERSON))
        .where(
            FollowUp.enterprise_id == enterprise.id,
            FollowUp.deleted_at.is_(None),
            FollowUp.status == FollowUpStatus.OPEN,
        )
        .order_by(FollowUp.due_date, FollowUp.id)
    ).scalars()
    issues = db.session.execute(
        select(EnterpriseIssue)
        .options(joinedload(EnterpriseIssue.assignee).options(_JUST_THE_PERSON))
        .where(
            EnterpriseIssue.enterprise_id == enterprise.id,
            EnterpriseIssue.deleted_at.is_(None),
            EnterpriseIssue.status != IssueStatus.CLOSED,
        )
        .order_by(EnterpriseIssue.due_date.is_(None), EnterpriseIssue.due_date, EnterpriseIssue.id)
    ).scalars()
    documents = db.session.execute(
        select(Document)
        .where(Document.enterprise_id == enterprise.id, Document.deleted_at.is_(None))
        .order_by(Document.created_at.desc(), Document.id.desc())
        .limit(documents_limit)
    ).scalars()
    return FileContents(
        contacts=list(contacts),
        follow_ups=list(follow_ups),
        issues=list(issues),
        documents=list(documents),
    )


@dataclass
class TimelinePage:
    events: list[TimelineEvent]
    next_cursor: str | None = None
    cursor: str | None = field(default=None)


def parse_cursor(raw: str | None) -> tuple[datetime, int] | None:
    """``<occurred_at iso>,<id>`` from the "older entries" link; junk means the first page."""
    if not raw or "," not in raw:
        return None
    when, _, ident = raw.rpartition(",")
    try:
        return datetime.fromisoformat(when), int(ident)
    except ValueError:
        return None


def make_cursor(event: TimelineEvent) -> str:
    return f"{event.occurred_at.isoformat()},{event.id}"


def timeline_page(enterprise: Enterprise, *, before: str | None, size: int | None) -> TimelinePage:
    """Newest first, keyset-paginated on the (enterprise_id, occurred_at, id) index.

    ``size=None`` returns the whole file (the printed dossier).
    """
    stmt = (
        select(TimelineEvent)
        .options(joinedload(TimelineEvent.actor).options(_JUST_THE_PERSON))
        .where(TimelineEvent.enterprise_id == enterprise.id)
        .order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())
    )
    cursor = parse_cursor(before)
    if cursor is not None:
        when, ident = cursor
        stmt = stmt.where(
            or_(
                TimelineEvent.occurred_at < when,
                and_(TimelineEvent.occurred_at == when, TimelineEvent.id < ident),
            )
        )
    if size is None:
        return TimelinePage(events=list(db.session.execute(stmt).scalars()))
    events = list(db.session.execute(stmt.limit(size + 1)).scalars())
    next_cursor = make_cursor(events[size - 1]) if len(events) > size else None
    return TimelinePage(events=events[:size], next_cursor=next_cursor, cursor=before)
