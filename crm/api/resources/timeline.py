"""/api/v1/enterprises/<id>/timeline: the enterprise's file (一企一档), newest first.

The same events the file page shows, each with the raw payload the services
recorded (``data``) and a one-line ``summary`` in the caller's language.
"""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload

from crm.access import Action, current_access
from crm.api.base import resource
from crm.api.pagination import PageArgs, keyset_page, link_header, page_schema
from crm.api.schemas import RefSchema
from crm.enterprises.timeline_display import kind_label
from crm.models import TimelineEvent, User

blp = resource(
    "timeline",
    "",
    "The enterprise's file (一企一档): every visit, contact, issue, project step and "
    "field change, newest first.",
)


class TimelineEventSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    at = ma.fields.DateTime(
        required=True,
        attribute="occurred_at",
        metadata={"description": "when it happened (a visit: noon of its day)"},
    )
    recorded_at = ma.fields.DateTime(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "e.g. visit.logged"})
    actor = ma.fields.Nested(RefSchema, allow_none=True, required=True)
    subject_type = ma.fields.String(required=True, metadata={"description": "e.g. visit"})
    subject_id = ma.fields.Integer(allow_none=True, required=True)
    data = ma.fields.Dict(
        required=True,
        metadata={"description": "what the service recorded: title, text, field changes, ..."},
    )
    summary = ma.fields.Method("_summary", metadata={"type": "string"})

    def _summary(self, event: TimelineEvent) -> str:
        label = kind_label(event.kind)
        title = (event.data or {}).get("title")
        return f"{label}: {title}" if isinstance(title, str) and title else label


class TimelineArgs(PageArgs):
    kind = ma.fields.String(
        validate=ma.validate.Length(max=40), metadata={"description": "only events of this kind"}
    )
    subject_type = ma.fields.String(
        validate=ma.validate.Length(max=30),
        metadata={"description": "only events about this kind of record (visit, contact, ...)"},
    )


@blp.route("/enterprises/<int:enterprise_id>/timeline")
class EnterpriseTimeline(MethodView):
    @blp.arguments(TimelineArgs, location="query")
    @blp.response(200, page_schema(TimelineEventSchema))
    def get(self, args, enterprise_id):
        """The file, newest first, paged on (at, id) along the file's own index."""
        # Admins read a deleted enterprise's file, as on the page.
        enterprise = current_access().enterprise_or_abort(
            enterprise_id, Action.READ, include_deleted=True
        )
        stmt = (
            select(TimelineEvent)
            .options(joinedload(TimelineEvent.actor).options(lazyload(User.units)))
            .where(TimelineEvent.enterprise_id == enterprise.id)
        )
        if args.get("kind"):
            stmt = stmt.where(TimelineEvent.kind == args["kind"])
        if args.get("subject_type"):
            stmt = stmt.where(TimelineEvent.subject_type == args["subject_type"])
        page = keyset_page(
            stmt,
            [TimelineEvent.occurred_at, TimelineEvent.id],
            cursor=args.get("cursor"),
            limit=args["limit"],
            key_of=lambda e: (e.occurred_at, e.id),
            descending=True,
        )
        return {"items": page.items, "next_cursor": page.next_cursor}, 200, link_header(page)
