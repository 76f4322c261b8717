"""Who may see and change what: the one place every query and view goes through.

The rules (DOMAIN.md, "Who uses it"):
- admin: everything, read and write, and the admin pages;
- leader: everything, read only;
- manager: everything attached to the units they belong to and the units
  below them, read and write, and may delete and reassign;
- staff: the same scope as a manager of their units, plus the enterprises
  they are personally responsible for; may create and edit, not delete.

A record outside the user's scope answers 404 (its existence is not
revealed); a record inside the scope that the role may not change answers 403.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property

from flask import abort, current_app, g
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, event, false, or_, select, true
from sqlalchemy.orm import Session, attributes

from crm.extensions import db
from crm.models import Enterprise, FollowUp, ImportJob, OrgUnit, Project, Role, User, user_unit


class Action(StrEnum):
    READ = "read"
    EDIT = "edit"  # create and change records of an enterprise
    MANAGE = "manage"  # delete, reassign responsibility
    RESTORE = "restore"  # undo a soft delete


class Access:
    def __init__(self, user: User | None):
        self.user = user if user is not None and getattr(user, "is_authenticated", False) else None

    # -- the user -------------------------------------------------------------
    @property
    def role(self) -> Role | None:
        return self.user.role if self.user else None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def sees_everything(self) -> bool:
        return self.role in (Role.ADMIN, Role.LEADER)

    @cached_property
    def unit_ids(self) -> frozenset[int]:
        """The user's units and every unit below them."""
        if not self.user or not self.user.units:
            return frozenset()
        prefixes = [unit.path for unit in self.user.units]
        rows = db.session.execute(
            select(OrgUnit.id).where(or_(*(OrgUnit.path.startswith(p) for p in prefixes)))
        ).scalars()
        return frozenset(rows)

    # -- what the role allows, independent of scope ----------------------------
    def role_allows(self, action: Action) -> bool:
        if self.user is None:
            return False
        if self.is_admin:
            return True
        if action == Action.READ:
            return True
        if action == Action.EDIT:
            return self.role in (Role.MANAGER, Role.STAFF)
        if action == Action.MANAGE:
            return self.role == Role.MANAGER
        return False

    # -- enterprises -----------------------------------------------------------
    def enterprise_scope(self) -> ColumnElement[bool]:
        """SQL condition: the enterprise is inside this user's scope."""
        if self.user is None:
            return false()
        if self.sees_everything:
            return true()
        # A unit's path is a prefix of every path below it, so containment in
        # the enterprise's unit_paths means "attached to this unit or below".
        in_units = [
            Enterprise.unit_paths.contains("|" + unit.path, autoescape=True)
            for unit in self.user.units
        ]
        return or_(Enterprise.responsible_id == self.user.id, *in_units)

    def enterprises(self, *, include_deleted: bool = False) -> Select:
        stmt = select(Enterprise).where(self.enterprise_scope())
        if not include_deleted:
            stmt = stmt.where(Enterprise.deleted_at.is_(None))
        return stmt

    def in_scope(self, enterprise: Enterprise) -> bool:
        if self.user is None:
            return False
        if self.sees_everything:
            return True
        if enterprise.responsible_id == self.user.id:
            return True
        return any(unit.id in self.unit_ids for unit in enterprise.units)

    def can(self, action: Action, enterprise: Enterprise) -> bool:
        if not self.in_scope(enterprise) or not self.role_allows(action):
            return False
        if enterprise.deleted_at is not None:
            return action in (Action.RESTORE,) or (action == Action.READ and self.is_admin)
        return True

    def enterprise_or_abort(
        self, enterprise_id: int, action: Action = Action.READ, *, include_deleted: bool = False
    ) -> Enterprise:
        enterprise = db.session.get(Enterprise, enterprise_id)
        if enterprise is None or not self.in_scope(enterprise):
            abort(404)
        if enterprise.deleted_at is not None and not (include_deleted and self.is_admin):
            abort(404)
        if not self.role_allows(action):
            abort(403)
        return enterprise

    def record_or_abort(self, model, record_id: int, action: Action = Action.READ):
        """A record that belongs to an enterprise (contact, visit, issue, ...)."""
        record = db.session.get(model, record_id)
        if record is None or getattr(record, "deleted_at", None) is not None:
            abort(404)
        self.enterprise_or_abort(record.enterprise_id, action)
        return record

    def related_or_abort(self, model, raw_id: str | None, enterprise: Enterprise, action: Action):
        """A record named in the query string (``?visit_id=``) that must belong to ``enterprise``.

        None when the parameter is absent or empty; anything else that is not one
        of this enterprise's records answers 404, like a record outside the scope.
        """
        if raw_id is None or raw_id == "":
            return None
        if not raw_id.isdigit():
            abort(404)
        record = self.record_or_abort(model, int(raw_id), action)
        if record.enterprise_id != enterprise.id:
            abort(404)
        return record

    def require(self, action: Action) -> None:
        """403 unless the role allows ``action`` at all (pages that create records)."""
        if not self.role_allows(action):
            abort(403)

    def oversees_others(self) -> bool:
        """Managers, leaders and admins look at other people's follow-ups; staff at their own."""
        return self.sees_everything or self.role_allows(Action.MANAGE)

    def follow_up_to_complete_or_abort(self, follow_up_id: int):
        """A follow-up this user may mark done: its owner may, whatever their role;
        anyone else needs EDIT on the enterprise."""
        follow_up = self.record_or_abort(FollowUp, follow_up_id, Action.READ)
        if self.user is None or follow_up.owner_id != self.user.id:
            self.enterprise_or_abort(follow_up.enterprise_id, Action.EDIT)
        return follow_up

    # -- projects --------------------------------------------------------------
    def project_scope(self) -> ColumnElement[bool]:
        """SQL condition on Project joined to its Enterprise: the project is in scope.

        A project is seen by whoever sees its enterprise, and by the units it is
        attached to (county, park, task force, outbound office) and those above them.
        """
        if self.user is None:
            return false()
        if self.sees_everything:
            return true()
        in_units = [
            Project.unit_paths.contains("|" + unit.path, autoescape=True)
            for unit in self.user.units
        ]
        return or_(self.enterprise_scope(), *in_units)

    def projects(self, *, include_deleted: bool = False) -> Select:
        stmt = (
            select(Project)
            .join(Enterprise, Enterprise.id == Project.enterprise_id)
            .where(self.project_scope())
        )
        if not include_deleted:
            stmt = stmt.where(Project.deleted_at.is_(None), Enterprise.deleted_at.is_(None))
        return stmt

    def project_in_scope(self, project: Project) -> bool:
        if self.user is None:
            return False
        if self.sees_everything or self.in_scope(project.enterprise):
            return True
        return any(unit.id in self.unit_ids for unit in project.units)

    def can_project(self, action: Action, project: Project) -> bool:
        return (
            self.project_in_scope(project)
            and self.role_allows(action)
            and project.deleted_at is None
            and project.enterprise.deleted_at is None
        )

    def project_or_abort(self, project_id: int, action: Action = Action.READ) -> Project:
        project = db.session.get(Project, project_id)
        if (
            project is None
            or project.deleted_at is not None
            or project.enterprise.deleted_at is not None
            or not self.project_in_scope(project)
        ):
            abort(404)
        if not self.role_allows(action):
            abort(403)
        return project

    def unit_or_abort(self, unit_id: int) -> OrgUnit:
        """A unit whose figures this user may read: their own units and below (all for global roles)."""
        unit = db.session.get(OrgUnit, unit_id)
        if unit is None or not (self.sees_everything or unit.id in self.unit_ids):
            abort(404)
        return unit

    # -- import jobs -----------------------------------------------------------
    def import_jobs(self) -> Select:
        """Import jobs this user may see: every job for admins and leaders; for
        others their own and those started by people of their units (and below)."""
        if self.user is None:
            return select(ImportJob).where(false())
        stmt = select(ImportJob)
        if not self.sees_everything:
            colleagues = select(user_unit.c.user_id).where(
                user_unit.c.unit_id.in_(self.unit_ids or {0})
            )
            stmt = stmt.where(
                or_(
                    ImportJob.created_by_id == self.user.id, ImportJob.created_by_id.in_(colleagues)
                )
            )
        return stmt

    def import_job_or_abort(self, job_id: int) -> ImportJob:
        """A job this user sees (else 404) and, being an importer, may work on (else 403).

        Importing is for admins and managers; managers' rows are checked one by one
        against their units when the rows are read.
        """
        job = db.session.execute(
            self.import_jobs().where(ImportJob.id == job_id)
        ).scalar_one_or_none()
        if job is None:
            abort(404)
        self.require(Action.MANAGE)
        return job

    # -- units and people ------------------------------------------------------
    def units(self) -> Select:
        """Units this user may attach records to (all of them for global roles)."""
        stmt = select(OrgUnit).where(OrgUnit.is_active.is_(True)).order_by(OrgUnit.path)
        if not self.sees_everything:
            stmt = stmt.where(OrgUnit.id.in_(self.unit_ids or {0}))
        return stmt

    def require_admin(self) -> None:
        if not self.is_admin:
            abort(403)


def unit_paths_key(units) -> str:
    """The value of ``Enterprise.unit_paths`` for these units."""
    paths = sorted({unit.path for unit in units if unit.path})
    return "|" + "|".join(paths) + "|" if paths else ""


PROJECT_UNIT_FIELDS = ("county", "park", "task_force", "outbound_office") + tuple(
    f"{name}_id" for name in ("county", "park", "task_force", "outbound_office")
)


def _project_units(session: Session, project: Project) -> list[OrgUnit]:
    """The project's units, whether set as relationships or as ids."""
    units = []
    for name in ("county", "park", "task_force", "outbound_office"):
        if attributes.get_history(project, name).has_changes():
            unit = getattr(project, name)
        elif attributes.get_history(project, f"{name}_id").has_changes():
            unit_id = getattr(project, f"{name}_id")
            unit = session.get(OrgUnit, unit_id) if unit_id is not None else None
        else:
            unit = getattr(project, name)
        if unit is not None:
            units.append(unit)
    return units


def _keep_unit_paths(session: Session, _context, _instances) -> None:
    """Before every flush: enterprises and projects whose units changed get their unit_paths again."""
    # session.new builds a new set on every access: read it once, or a flush of
    # n new rows costs n² (the spreadsheet import adds them 500 at a time).
    new = session.new
    for obj in list(new) + list(session.dirty):
        if isinstance(obj, Enterprise):
            history = attributes.get_history(obj, "units")
            if obj in new or history.has_changes():
                obj.unit_paths = unit_paths_key(obj.units)
        elif isinstance(obj, Project):
            changed = any(
                attributes.get_history(obj, name).has_changes() for name in PROJECT_UNIT_FIELDS
            )
            if obj in new or changed:
                obj.unit_paths = unit_paths_key(_project_units(session, obj))


event.listen(Session, "before_flush", _keep_unit_paths)


def admin_area_gate():
    """``before_request`` of an admin-only blueprint: sign in first (a redirect), then 403
    for anyone but an admin. One gate per blueprint, so no route can forget it."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    current_access().require_admin()
    return None


def current_access() -> Access:
    """The Access of the signed-in user, built once per request."""
    if "access" not in g:
        g.access = Access(current_user._get_current_object() if current_user else None)
    return g.access
