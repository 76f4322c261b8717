"""/api/v1: visits and events (走访 · 活动) of an enterprise — list, log, read, change, delete.

Logging a visit may carry a next step (title, due date, owner), which becomes a
follow-up, as on the visit form.
"""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from crm.access import Action, current_access
from crm.api.base import checked_first, resource, token_user, write
from crm.api.etag import IF_MATCH_PARAMETER, etag_header, expected_version
from crm.api.pagination import PageArgs, keyset_page, link_header, page_schema
from crm.api.resources.lookups import NOT_ALLOWED, api_field_names, records_by_id, users_by_id
from crm.api.schemas import Id, RefSchema
from crm.models import Contact, Flag, FollowUpStatus, User, Visit, VisitKind
from crm.visits import services

blp = resource(
    "visits",
    "",
    "Visits and events (走访 · 活动): door-knocking visits, leader-led trips, "
    "inspections, promotion events, signing ceremonies, calls.",
)

_KINDS = [kind.value for kind in VisitKind]
_FLAGS = [flag.value for flag in Flag]
_LONG_TEXT = ma.validate.Length(max=20000)


class FollowUpBriefSchema(ma.Schema):
    """A follow-up the visit produced (the whole record is at /api/v1/follow-ups/<id>)."""

    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    due_date = ma.fields.Date(required=True)
    status = ma.fields.String(
        required=True, validate=ma.validate.OneOf([s.value for s in FollowUpStatus])
    )
    owner = ma.fields.Nested(RefSchema, allow_none=True)


class VisitSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    enterprise = ma.fields.Nested(RefSchema, dump_only=True)
    kind = ma.fields.String(validate=ma.validate.OneOf(_KINDS, error=NOT_ALLOWED))
    visit_date = ma.fields.Date(metadata={"description": "at most one day ahead"})
    place = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))
    summary = ma.fields.String(
        validate=ma.validate.Length(min=1, max=20000),
        metadata={"description": "what was said and agreed"},
    )
    concerns = ma.fields.String(
        allow_none=True,
        validate=_LONG_TEXT,
        metadata={"description": "what the enterprise is worried about or asks for"},
    )
    flag = ma.fields.String(
        validate=ma.validate.OneOf(_FLAGS, error=NOT_ALLOWED),
        metadata={"description": "red: urgent (may leave, close, blocked); yellow: important"},
    )
    participants = ma.fields.List(
        ma.fields.Nested(RefSchema), dump_only=True, metadata={"description": "who went"}
    )
    contacts_met = ma.fields.List(ma.fields.Nested(RefSchema), dump_only=True)
    created_by = ma.fields.Nested(RefSchema, allow_none=True, dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)
    version = ma.fields.Integer(dump_only=True)


class VisitDetailSchema(VisitSchema):
    follow_ups = ma.fields.List(ma.fields.Nested(FollowUpBriefSchema), dump_only=True)


class VisitWriteSchema(VisitSchema):
    participant_ids = ma.fields.List(
        Id(),
        load_only=True,
        validate=ma.validate.Length(max=200),
        metadata={"description": "who went"},
    )
    contact_ids = ma.fields.List(
        Id(),
        load_only=True,
        validate=ma.validate.Length(max=200),
        metadata={"description": "contacts of this enterprise who were met"},
    )


class VisitCreateSchema(VisitWriteSchema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(_KINDS, error=NOT_ALLOWED))
    visit_date = ma.fields.Date(required=True)
    summary = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20000))
    participant_ids = ma.fields.List(
        Id(),
        load_only=True,
        validate=ma.validate.Length(max=200),
        metadata={"description": "who went; left out, the caller (as the form preselects)"},
    )
    next_step_title = ma.fields.String(
        load_only=True,
        allow_none=True,
        validate=ma.validate.Length(max=300),
        metadata={"description": "a next step: becomes a follow-up (needs next_step_due)"},
    )
    next_step_due = ma.fields.Date(load_only=True, allow_none=True)
    next_step_owner_id = Id(
        load_only=True, allow_none=True, metadata={"description": "left out, the caller"}
    )


class VisitListArgs(PageArgs):
    kind = ma.fields.String(validate=ma.validate.OneOf(_KINDS, error=NOT_ALLOWED))
    flag = ma.fields.String(validate=ma.validate.OneOf(_FLAGS, error=NOT_ALLOWED))


_NAMES = {
    "participants": "participant_ids",
    "contacts_met": "contact_ids",
    "next_step_owner": "next_step_owner_id",
}


def _contacts(ids: list[int]) -> list[Contact]:
    """Contacts by id; an unknown id is refused here, another enterprise's by the service."""
    return records_by_id(Contact, ids, "contacts_met", _l("Choose contacts of this enterprise."))


def _visit_fields(data: dict, visit: Visit | None = None) -> dict:
    """The service's arguments: what was sent, over what the visit holds (PATCH)."""
    fields: dict = {}
    if visit is not None:
        fields = {
            "kind": visit.kind,
            "visit_date": visit.visit_date,
            "place": visit.place,
            "summary": visit.summary,
            "concerns": visit.concerns,
            "flag": visit.flag,
            "participants": list(visit.participants),
            "contacts_met": list(visit.contacts_met),
        }
    for name in ("kind", "visit_date", "place", "summary", "concerns", "flag"):
        if name in data:
            fields[name] = data[name]
    if "flag" in fields and fields["flag"] is None:
        fields["flag"] = Flag.NONE
    if "participant_ids" in data:
        fields["participants"] = users_by_id(data["participant_ids"] or [], "participants")
    if "contact_ids" in data:
        fields["contacts_met"] = _contacts(data["contact_ids"] or [])
    return fields


def _detail(visit: Visit) -> Visit:
    visit.follow_ups = services.visit_follow_ups(visit)
    return visit


def _enterprise_for_writing(enterprise_id: int, **_):
    current_access().enterprise_or_abort(enterprise_id, Action.EDIT)


def _visit_for_writing(visit_id: int, **_):
    current_access().record_or_abort(Visit, visit_id, Action.EDIT)


@blp.route("/enterprises/<int:enterprise_id>/visits")
class EnterpriseVisits(MethodView):
    @blp.arguments(VisitListArgs, location="query")
    @blp.response(200, page_schema(VisitSchema))
    def get(self, args, enterprise_id):
        """The enterprise's visits and events, oldest first."""
        enterprise = current_access().enterprise_or_abort(enterprise_id)
        person = lazyload(User.units)
        stmt = (
            select(Visit)
            .options(
                selectinload(Visit.participants).options(person),
                selectinload(Visit.contacts_met),
                joinedload(Visit.created_by).options(person),
            )
            .where(Visit.enterprise_id == enterprise.id, Visit.deleted_at.is_(None))
        )
        if args.get("kind"):
            stmt = stmt.where(Visit.kind == VisitKind(args["kind"]))
        if args.get("flag"):
            stmt = stmt.where(Visit.flag == Flag(args["flag"]))
        page = keyset_page(
            stmt,
            [Visit.id],
            cursor=args.get("cursor"),
            limit=args["limit"],
            key_of=lambda v: (v.id,),
        )
        return {"items": page.items, "next_cursor": page.next_cursor}, 200, link_header(page)

    @checked_first(_enterprise_for_writing)
    @blp.arguments(VisitCreateSchema)
    @blp.response(201, VisitDetailSchema)
    def post(self, data, enterprise_id):
        """Log a visit or event; a next step becomes a follow-up. Both go in the file."""
        enterprise = current_access().enterprise_or_abort(enterprise_id, Action.EDIT)
        actor = token_user()

        def log():
            with api_field_names(_NAMES):
                fields = _visit_fields(data)
                if "participants" not in fields:
                    fields["participants"] = [actor]
                owner_id = data.get("next_step_owner_id")
                owner = users_by_id([owner_id], "next_step_owner")[0] if owner_id else None
                return services.log_visit(
                    enterprise,
                    actor=actor,
                    next_step_title=data.get("next_step_title"),
                    next_step_due=data.get("next_step_due"),
                    next_step_owner=owner,
                    **fields,
                )

        visit = write(log)
        return _detail(visit), 201, etag_header(visit)


@blp.route("/visits/<int:visit_id>")
class VisitItem(MethodView):
    @blp.response(200, VisitDetailSchema)
    def get(self, visit_id):
        """One visit with the follow-ups it produced; its ETag goes in If-Match to change it."""
        visit = current_access().record_or_abort(Visit, visit_id)
        return _detail(visit), 200, etag_header(visit)

    @checked_first(_visit_for_writing)
    @blp.arguments(VisitWriteSchema(partial=True))
    @blp.response(200, VisitDetailSchema)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    def patch(self, data, visit_id):
        """Change the fields sent; the change is recorded in the enterprise's file."""
        visit = current_access().record_or_abort(Visit, visit_id, Action.EDIT)
        version = expected_version(visit)
        actor = token_user()

        def update():
            with api_field_names(_NAMES):
                return services.update_visit(
                    visit, actor=actor, expected_version=version, **_visit_fields(data, visit)
                )

        write(update)
        return _detail(visit), 200, etag_header(visit)

    @blp.response(204)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    def delete(self, visit_id):
        """Delete the visit (soft); the follow-ups it produced stay."""
        visit = current_access().record_or_abort(Visit, visit_id, Action.EDIT)
        expected_version(visit)
        actor = token_user()
        write(lambda: services.delete_visit(visit, actor=actor))
        return "", 204
