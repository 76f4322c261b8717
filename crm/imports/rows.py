"""What each row will do — create, update, skip or refuse, and why — and doing it.

One class per kind reads a chunk of rows (already turned into values by
``cells.CellReader``), looks up the records they name in one query per chunk,
and decides each row. With ``write=False`` (the preview) nothing is kept;
with ``write=True`` the accepted rows are written through the services (new
enterprises in batches, see ``enterprise_batch``). A service that refuses a row
refuses it inside a SAVEPOINT, so the other rows stay in the one transaction.
The preview of contacts, projects and funds runs the same services and is
rolled back: it says what the commit will do, not what a copy of the rules thinks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from crm.access import Access, Action
from crm.clock import local_today
from crm.contacts.services import create_contact, update_contact
from crm.enterprises.services import TEXT_LIMITS, update_enterprise
from crm.errors import ServiceError
from crm.extensions import db
from crm.imports import enterprise_batch, lookups
from crm.imports.cells import CellReader, Row
from crm.models import Contact, FundsEntry, ImportKind, OnExisting, ProjectStage, User
from crm.projects.services import change_stage, create_project, record_funds, update_project
from crm.timeline import plain

CREATE, UPDATE, SKIP, REFUSE = "create", "update", "skip", "refuse"
BATCH = 500  # new enterprises per flush (the before_flush unit-paths hook is quadratic in it)


@dataclass
class Outcome:
    row: int
    action: str
    title: str = ""
    reasons: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> list:
        return [self.row, self.action, self.title, [list(r) for r in self.reasons]]


class Rows:
    """The rules every kind shares: refusals from the cells, duplicates in the file, scope."""

    key_field = "credit_code"

    def __init__(
        self, *, actor: User | None, on_existing: OnExisting, reader: CellReader, write: bool
    ):
        self.actor = actor
        self.access = Access(actor)
        self.on_existing = OnExisting(on_existing)
        self.reader = reader
        self.write = write
        self.first_row_of: dict[Any, int] = {}

    def column(self, field_key: str | None) -> str:
        return self.reader.column(field_key)

    def duplicate(self, row: Row, file_key) -> Outcome | None:
        """The second row with the same key is refused, naming the first."""
        first = self.first_row_of.setdefault(file_key, row.number)
        if first == row.number:
            return None
        return Outcome(
            row.number,
            REFUSE,
            self.title(row),
            [(self.column(self.key_field), _("Duplicate of row %(row)d in this file.", row=first))],
        )

    def existing(self, row: Row, what: str) -> Outcome | None:
        """Skip or refuse a row whose record exists, as the user chose; None: go on to update."""
        if self.on_existing == OnExisting.SKIP:
            return Outcome(row.number, SKIP, self.title(row), [(self.column(self.key_field), what)])
        if self.on_existing == OnExisting.REFUSE:
            return Outcome(
                row.number, REFUSE, self.title(row), [(self.column(self.key_field), what)]
            )
        return None

    def title(self, row: Row) -> str:
        return str(row.values.get("name") or row.values.get(self.key_field) or "")

    def guarded(self, row: Row, action: str, write) -> Outcome:
        """Run ``write`` inside a SAVEPOINT; a refusal by the service refuses only this row."""
        try:
            with db.session.begin_nested():
                write()
        except ServiceError as error:
            return Outcome(
                row.number,
                REFUSE,
                self.title(row),
                [(self.column(error.field), str(error.message))],
            )
        return Outcome(row.number, action, self.title(row))

    def handle(self, rows: list[Row]) -> list[Outcome]:
        raise NotImplementedError

    def finish(self) -> list[Outcome]:
        return []


def _given(row: Row, keys) -> dict[str, Any]:
    """The values of the row's non-blank cells (a blank cell changes nothing on update)."""
    return {k: v for k, v in row.values.items() if k in keys and v is not None}


# -- enterprises -------------------------------------------------------------------

ENTERPRISE_FIELDS = (
    "credit_code", "name", "name_en", "region", "address", "industry", "units", "responsible",
    "fortune_global_500_year", "china_top_500_year", "china_private_500_year",
    "is_listed", "is_foreign_invested", "is_settled", "is_reinvesting", "chamber", "description",
)  # fmt: skip


class EnterpriseRows(Rows):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.batch: list[tuple[int, str, dict[str, Any]]] = []
        own_units = list(self.actor.units) if self.actor else []
        # A manager of one unit need not name it on every row.
        self.default_units = own_units if len(own_units) == 1 else None

    def handle(self, rows: list[Row]) -> list[Outcome]:
        codes = {r.values.get("credit_code") for r in rows} - {None}
        if self.on_existing == OnExisting.UPDATE:
            found = lookups.enterprises_by_code(codes)
            existing = {c: (e.id, e.deleted_at is not None) for c, e in found.items()}
        else:
            found, existing = {}, lookups.existing_codes(codes)
        outcomes = []
        for row in rows:
            outcome = self._one(row, existing, found)
            if outcome is not None:
                outcomes.append(outcome)
            if len(self.batch) >= BATCH:
                outcomes += self._flush_batch()
        return outcomes

    def finish(self) -> list[Outcome]:
        return self._flush_batch()

    def _one(self, row: Row, existing, found) -> Outcome | None:
        self._check_texts(row)
        if row.reasons:
            return Outcome(row.number, REFUSE, self.title(row), row.reasons)
        code = row.values["credit_code"]
        if dup := self.duplicate(row, code):
            return dup
        if code in existing:
            _id, deleted = existing[code]
            if deleted:
                message = _("Registered and then deleted; an administrator can restore it.")
                return Outcome(
                    row.number, REFUSE, self.title(row), [(self.column("credit_code"), message)]
                )
            if outcome := self.existing(row, _("Already registered.")):
                return outcome
            return self._update(row, found[code])
        return self._create(row)

    def _check_texts(self, row: Row) -> None:
        for name, limit in TEXT_LIMITS.items():
            value = row.values.get(name)
            if value and len(value) > limit:
                row.refuse(
                    self.column(name), _("At most %(limit)d characters, please.", limit=limit)
                )

    def _create(self, row: Row) -> Outcome | None:
        fields = _given(row, ENTERPRISE_FIELDS)
        if not fields.get("name"):
            return Outcome(
                row.number,
                REFUSE,
                self.title(row),
                [(self.column("name"), _("Required value missing."))],
            )
        fields.setdefault("units", self.default_units)
        if not fields["units"]:
            return Outcome(
                row.number,
                REFUSE,
                self.title(row),
                [(self.column("units"), _("Required value missing."))],
            )
        if self.write:
            self.batch.append((row.number, self.title(row), fields))
            return None  # reported when the batch is written
        return Outcome(row.number, CREATE, self.title(row))

    def _update(self, row: Row, enterprise) -> Outcome:
        if not self.access.can(Action.EDIT, enterprise):
            message = _("%(name)s is outside your units.", name=enterprise.name)
            return Outcome(
                row.number, REFUSE, self.title(row), [(self.column("credit_code"), message)]
            )
        fields = _given(row, ENTERPRISE_FIELDS)
        fields.pop("credit_code", None)
        changed = {k: v for k, v in fields.items() if plain(getattr(enterprise, k)) != plain(v)}
        if not changed:
            return Outcome(row.number, SKIP, self.title(row), [("", _("Nothing to change."))])
        if not self.write:
            return Outcome(row.number, UPDATE, self.title(row))
        return self.guarded(
            row,
            UPDATE,
            lambda: update_enterprise(
                enterprise, actor=self.actor, expected_version=None, **changed
            ),
        )

    def _flush_batch(self) -> list[Outcome]:
        if not self.batch:
            return []
        created = enterprise_batch.create_enterprises(
            [fields for _n, _t, fields in self.batch], actor=self.actor
        )
        outcomes = [Outcome(number, CREATE, title) for number, title, _f in self.batch]
        self.batch = []
        # Written and not needed again: 50,000 of them in the session would slow every flush.
        for enterprise in created:
            db.session.expunge(enterprise)
        return outcomes


# -- contacts ------------------------------------------------------------------------

CONTACT_FIELDS = ("name", "title", "phone", "email", "wechat", "is_main", "notes")


class _ByEnterprise(Rows):
    def enterprises(self, rows: list[Row]) -> dict:
        codes = {r.values.get("credit_code") for r in rows} - {None}
        return lookups.enterprises_by_code(codes)

    def enterprise_for(self, row: Row, found: dict):
        """The row's enterprise if the importer may add to it; else an Outcome refusing the row."""
        enterprise = found.get(row.values.get("credit_code"))
        if (
            enterprise is None
            or enterprise.deleted_at is not None
            or not self.access.can(Action.EDIT, enterprise)
        ):
            message = _("No enterprise with this credit code in your units.")
            return None, Outcome(
                row.number, REFUSE, self.title(row), [(self.column("credit_code"), message)]
            )
        return enterprise, None


class ContactRows(_ByEnterprise):
    def handle(self, rows: list[Row]) -> list[Outcome]:
        found = self.enterprises(rows)
        contacts: dict[tuple[int, str], Contact] = {}
        if found:
            for contact in db.session.execute(
                select(Contact).where(
                    Contact.enterprise_id.in_([e.id for e in found.values()]),
                    Contact.deleted_at.is_(None),
                )
            ).scalars():
                contacts.setdefault((contact.enterprise_id, lookups.key(contact.name)), contact)
        return [self._one(row, found, contacts) for row in rows]

    def _one(self, row: Row, found, contacts) -> Outcome:
        if row.reasons:
            return Outcome(row.number, REFUSE, self.title(row), row.reasons)
        enterprise, refused = self.enterprise_for(row, found)
        if refused:
            return refused
        name_key = lookups.key(row.values["name"])
        if dup := self.duplicate(row, (enterprise.id, name_key)):
            return dup
        fields = _given(row, CONTACT_FIELDS)
        contact = contacts.get((enterprise.id, name_key))
        if contact is None:
            return self.guarded(
                row, CREATE, lambda: create_contact(enterprise, actor=self.actor, **fields)
            )
        if outcome := self.existing(row, _("This enterprise already has a contact of this name.")):
            return outcome
        changed = {k: v for k, v in fields.items() if getattr(contact, k) != v}
        if not changed:
            return Outcome(row.number, SKIP, self.title(row), [("", _("Nothing to change."))])
        return self.guarded(
            row,
            UPDATE,
            lambda: update_contact(contact, actor=self.actor, expected_version=None, **changed),
        )


# -- projects ------------------------------------------------------------------------

PROJECT_FIELDS = (
    "name", "contract_amount_wan", "county", "park", "task_force", "industry", "channel",
    "is_out_of_province", "is_reinvestment", "fdi_usd_wan", "planned_start_on", "description",
    "platform_number",
)  # fmt: skip


class ProjectRows(_ByEnterprise):
    key_field = "platform_number"

    def handle(self, rows: list[Row]) -> list[Outcome]:
        found = self.enterprises(rows)
        numbers = {r.values.get("platform_number") for r in rows} - {None}
        projects = lookups.projects_by_number(numbers)
        return [self._one(row, found, projects) for row in rows]

    def _one(self, row: Row, found, projects) -> Outcome:
        if row.reasons:
            return Outcome(row.number, REFUSE, self.title(row), row.reasons)
        enterprise, refused = self.enterprise_for(row, found)
        if refused:
            return refused
        number = row.values.get("platform_number")
        if number and (dup := self.duplicate(row, number)):
            return dup
        fields = _given(row, PROJECT_FIELDS)
        stage = row.values.get("stage")
        stage_on = row.values.get("stage_on")
        project = projects.get(number) if number else None
        if project is None:
            return self.guarded(
                row,
                CREATE,
                lambda: create_project(
                    enterprise,
                    actor=self.actor,
                    stage=stage or ProjectStage.RESERVE,
                    stage_on=stage_on,
                    **fields,
                ),
            )
        if project.deleted_at is not None:
            message = _("Registered and then deleted; an administrator can restore it.")
            return Outcome(
                row.number, REFUSE, self.title(row), [(self.column("platform_number"), message)]
            )
        if outcome := self.existing(row, _("A project with this city platform number exists.")):
            return outcome
        if not self.access.can_project(Action.EDIT, project):
            message = _("%(name)s is outside your units.", name=project.name)
            return Outcome(
                row.number, REFUSE, self.title(row), [(self.column("platform_number"), message)]
            )
        changed = {k: v for k, v in fields.items() if plain(getattr(project, k)) != plain(v)}
        moves = stage is not None and stage != project.stage
        if not changed and not moves:
            return Outcome(row.number, SKIP, self.title(row), [("", _("Nothing to change."))])

        def write():
            if changed:
                update_project(
                    project, actor=self.actor, expected_version=project.version, **changed
                )
            if moves:
                change_stage(
                    project,
                    actor=self.actor,
                    expected_version=project.version,
                    to_stage=stage,
                    effective_on=stage_on or local_today(),
                )

        return self.guarded(row, UPDATE, write)

    def title(self, row: Row) -> str:
        return str(row.values.get("name") or row.values.get("platform_number") or "")


# -- funds in place -------------------------------------------------------------------


class FundsRows(Rows):
    key_field = "platform_number"

    def handle(self, rows: list[Row]) -> list[Outcome]:
        numbers = {r.values.get("platform_number") for r in rows} - {None}
        projects = lookups.projects_by_number(numbers)
        months = {m.replace(day=1) for r in rows if (m := r.values.get("month"))}
        reported = self._reported([p.id for p in projects.values()], months)
        return [self._one(row, projects, reported) for row in rows]

    def title(self, row: Row) -> str:
        month = row.values.get("month")
        return " ".join(
            str(p)
            for p in (row.values.get("platform_number"), month.isoformat()[:7] if month else None)
            if p
        )

    def _one(self, row: Row, projects, reported_so_far) -> Outcome:
        if row.reasons:
            return Outcome(row.number, REFUSE, self.title(row), row.reasons)
        number, month, source = (row.values[k] for k in ("platform_number", "month", "source"))
        amount: Decimal = row.values["amount_wan"]
        project = projects.get(number)
        if (
            project is None
            or project.deleted_at is not None
            or not self.access.can_project(Action.EDIT, project)
        ):
            message = _("No project with this city platform number in your units.")
            return Outcome(
                row.number, REFUSE, self.title(row), [(self.column("platform_number"), message)]
            )
        if dup := self.duplicate(row, (number, month, source)):
            return dup
        note = row.values.get("note")
        # A second row for the same key in this chunk is refused as a duplicate
        # above, so what was reported before the chunk is still the truth here.
        reported = reported_so_far.get((project.id, month.replace(day=1), source))
        if reported is None:
            return self.guarded(
                row,
                CREATE,
                lambda: record_funds(
                    project,
                    actor=self.actor,
                    month=month,
                    source=source,
                    amount_wan=amount,
                    note=note,
                ),
            )
        total, last = reported
        if outcome := self.existing(
            row, _("Funds are already reported for this month and source.")
        ):
            return outcome
        if total == amount:
            return Outcome(row.number, SKIP, self.title(row), [("", _("Nothing to change."))])
        # Entries are never edited: the difference is a correction naming the last entry.
        return self.guarded(
            row,
            UPDATE,
            lambda: record_funds(
                project,
                actor=self.actor,
                month=None,
                source=source,
                amount_wan=amount - total,
                note=note or _("Corrected by a spreadsheet import."),
                corrects=last,
            ),
        )

    @staticmethod
    def _reported(project_ids: list[int], months: set[date]) -> dict[tuple, tuple]:
        """(project id, month, source) -> (total so far, last entry), for a whole chunk
        in two queries."""
        if not project_ids or not months:
            return {}
        key = (FundsEntry.project_id, FundsEntry.month, FundsEntry.source)
        totals = db.session.execute(
            select(*key, func.sum(FundsEntry.amount_wan), func.max(FundsEntry.id))
            .where(FundsEntry.project_id.in_(project_ids), FundsEntry.month.in_(months))
            .group_by(*key)
        ).all()
        last_ids = [last_id for *_key, _total, last_id in totals]
        last = {
            entry.id: entry
            for entry in db.session.execute(
                select(FundsEntry).where(FundsEntry.id.in_(last_ids))
            ).scalars()
        }
        return {
            (project_id, month, source): (Decimal(total), last[last_id])
            for project_id, month, source, total, last_id in totals
        }


HANDLERS = {
    ImportKind.ENTERPRISES: EnterpriseRows,
    ImportKind.CONTACTS: ContactRows,
    ImportKind.PROJECTS: ProjectRows,
    ImportKind.FUNDS: FundsRows,
}
