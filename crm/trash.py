"""The trash: soft-deleted records of every kind, and restoring them (admin only).

Nothing a user deletes is gone: it carries ``deleted_at``/``deleted_by_id``
and is hidden everywhere else. Restoring clears both and writes a
``<type>.restored`` event into the enterprise's file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm import timeline
from crm.errors import ServiceError
from crm.extensions import db
from crm.models import (
    Contact,
    Document,
    Enterprise,
    EnterpriseIssue,
    FollowUp,
    Note,
    Policy,
    Project,
    SupervisionItem,
    User,
    Visit,
)
from crm.notes.services import note_title
from crm.reminders import planner
from crm.visits.services import visit_title

# The URL kind is the timeline subject_type, so links and events speak one vocabulary.
KINDS: dict[str, type] = {
    "enterprise": Enterprise,
    "contact": Contact,
    "visit": Visit,
    "follow_up": FollowUp,
    "issue": EnterpriseIssue,
    "note": Note,
    "document": Document,
    "project": Project,
    "policy": Policy,
    "supervision": SupervisionItem,
}

KIND_LABELS = {
    "enterprise": _l("Enterprise"),
    "contact": _l("Contact"),
    "visit": _l("Visit"),
    "follow_up": _l("Follow-up"),
    "issue": _l("Enterprise issue"),
    "note": _l("Note"),
    "document": _l("Document"),
    "project": _l("Project"),
    "policy": _l("Policy"),
    "supervision": _l("Supervision item"),
}


def kind_of(record) -> str:
    for kind, model in KINDS.items():
        if isinstance(record, model):
            return kind
    raise ValueError(f"not a trash record: {record!r}")


def title_of(record) -> str:
    """A short headline of a record, as the file shows it."""
    if isinstance(record, Enterprise | Contact | Project | Policy):
        return record.name
    if isinstance(record, Visit):
        return visit_title(record)
    if isinstance(record, FollowUp | EnterpriseIssue | SupervisionItem):
        return record.title
    if isinstance(record, Note):
        return note_title(record)
    if isinstance(record, Document):
        return record.title or record.filename
    return str(record)


@dataclass(frozen=True)
class TrashItem:
    kind: str
    record: object
    title: str
    enterprise: Enterprise
    deleted_at: datetime
    deleted_by: User | None

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])

    @property
    def blocked_by_enterprise(self) -> bool:
        """A child whose enterprise is itself in the trash cannot come back alone."""
        return self.kind != "enterprise" and self.enterprise.deleted_at is not None


def list_deleted(*, kind: str | None = None, limit: int = 500) -> list[TrashItem]:
    """Deleted records, newest deletion first (each kind capped at ``limit``)."""
    kinds = [kind] if kind else list(KINDS)
    found = []
    for name in kinds:
        model = KINDS[name]
        stmt = (
            select(model)
            .where(model.deleted_at.is_not(None))
            .order_by(model.deleted_at.desc(), model.id.desc())
            .limit(limit)
        )
        found.extend((name, row) for row in db.session.execute(stmt).scalars())

    actor_ids = {row.deleted_by_id for _, row in found if row.deleted_by_id}
    actors = {}
    if actor_ids:
        actors = {
            u.id: u
            for u in db.session.execute(select(User).where(User.id.in_(actor_ids))).scalars()
        }
    items = [
        TrashItem(
            kind=name,
            record=row,
            title=title_of(row),
            enterprise=row if name == "enterprise" else row.enterprise,
            deleted_at=row.deleted_at,
            deleted_by=actors.get(row.deleted_by_id),
        )
        for name, row in found
    ]
    items.sort(key=lambda item: (item.deleted_at, item.id), reverse=True)
    return items[:limit]


def get_deleted(kind: str, record_id: int):
    """The deleted record, or None when the kind is unknown or the record is not in the trash."""
    model = KINDS.get(kind)
    if model is None:
        return None
    record = db.session.get(model, record_id)
    if record is None or record.deleted_at is None:
        return None
    return record


def restore(record, actor: User) -> None:
    """Bring a record back and note it in the enterprise's file."""
    kind = kind_of(record)
    if record.deleted_at is None:
        raise ServiceError(_l("This record is not in the trash."))
    enterprise = record if kind == "enterprise" else record.enterprise
    if kind != "enterprise" and enterprise.deleted_at is not None:
        raise ServiceError(
            _l(
                "The enterprise %(name)s is itself in the trash: restore the enterprise "
                "first, then this record.",
                name=enterprise.name,
            )
        )
    if kind == "enterprise":
        # The register owns what else an enterprise's return involves (search index, ...).
        from crm.enterprises.services import restore_enterprise

        restore_enterprise(record, actor=actor)
        _replan_items_of(record)
        return
    record.deleted_at = None
    record.deleted_by_id = None
    data = {"title": title_of(record)}
    if kind == "contact" and record.is_main and _has_other_main_contact(record):
        # An enterprise has one main contact: the one chosen since the deletion stays.
        record.is_main = False
        data["changes"] = [{"field": "is_main", "old": True, "new": False}]
    db.session.flush()
    timeline.record(
        enterprise.id,
        f"{kind}.restored",
        actor=actor,
        subject_type=kind,
        subject_id=record.id,
        data=data,
    )
    db.session.flush()
    if kind in planner.PLANS:
        planner.replan(kind, record)


def _replan_items_of(enterprise: Enterprise) -> None:
    """A restored enterprise's open items want their reminders again."""
    for kind, model in (
        ("follow_up", FollowUp),
        ("issue", EnterpriseIssue),
        ("supervision", SupervisionItem),
    ):
        items = db.session.execute(
            select(model).where(model.enterprise_id == enterprise.id, model.deleted_at.is_(None))
        ).scalars()
        for item in items:
            planner.replan(kind, item)


def _has_other_main_contact(contact: Contact) -> bool:
    return (
        db.session.execute(
            select(Contact.id).where(
                Contact.enterprise_id == contact.enterprise_id,
                Contact.id != contact.id,
                Contact.is_main.is_(True),
                Contact.deleted_at.is_(None),
            )
        ).first()
        is not None
    )


def count_deleted() -> int:
    return sum(
        db.session.execute(
            select(func.count()).select_from(model).where(model.deleted_at.is_not(None))
        ).scalar_one()
        for model in KINDS.values()
    )
