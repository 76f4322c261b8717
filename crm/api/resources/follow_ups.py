"""/api/v1: follow-ups (跟进) — the follow-ups list, an enterprise's, one, and marking done.

Follow-ups are made as a visit's next step (POST /api/v1/enterprises/<id>/visits).
"""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload

from crm.access import current_access
from crm.api.base import resource, token_user, write
from crm.api.etag import IF_MATCH_PARAMETER, etag_header, expected_version
from crm.api.pagination import PageArgs, keyset_page, link_header, page_schema
from crm.api.resources.lookups import NOT_ALLOWED
from crm.api.schemas import RefSchema
from crm.models import FollowUp, FollowUpStatus, User
from crm.visits import services

blp = resource(
    "follow_ups",
    "",
    "Follow-ups (跟进): next steps with a due date and an owner, and marking them done.",
)

_STATUSES = [status.value for status in FollowUpStatus]


class FollowUpSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    enterprise = ma.fields.Nested(RefSchema, dump_only=True)
    visit_id = ma.fields.Integer(
        allow_none=True, dump_only=True, metadata={"description": "the visit it came from"}
    )
    title = ma.fields.String(dump_only=True)
    due_date = ma.fields.Date(dump_only=True)
    owner = ma.fields.Nested(RefSchema, allow_none=True, dump_only=True)
    status = ma.fields.String(dump_only=True, validate=ma.validate.OneOf(_STATUSES))
    done_at = ma.fields.DateTime(allow_none=True, dump_only=True)
    done_by_id = ma.fields.Integer(allow_none=True, dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)
    version = ma.fields.Integer(dump_only=True)


class FollowUpListArgs(PageArgs):
    who = ma.fields.String(
        load_default="mine",
        validate=ma.validate.OneOf(["mine", "all"], error=NOT_ALLOWED),
        metadata={
            "description": "mine: those you own; all: everyone's in your units "
            "(managers, leaders and admins — others get their own, as on the page)"
        },
    )
    status = ma.fields.String(
        load_default=FollowUpStatus.OPEN.value,
        validate=ma.validate.OneOf(_STATUSES, error=NOT_ALLOWED),
    )
    due = ma.fields.String(
        validate=ma.validate.OneOf(["overdue", "week", "escalated"], error=NOT_ALLOWED),
        metadata={
            "description": "overdue: open and due before today; week: due from today "
            "to Sunday; escalated: raised to a manager"
        },
    )


class EnterpriseFollowUpArgs(PageArgs):
    status = ma.fields.String(
        validate=ma.validate.OneOf(_STATUSES, error=NOT_ALLOWED),
        metadata={"description": "left out: open and done"},
    )


def _page(stmt, args):
    """Soonest due first, as on the page; keyset on (due date, id)."""
    page = keyset_page(
        stmt.order_by(None),
        [FollowUp.due_date, FollowUp.id],
        cursor=args.get("cursor"),
        limit=args["limit"],
        key_of=lambda f: (f.due_date, f.id),
    )
    return {"items": page.items, "next_cursor": page.next_cursor}, 200, link_header(page)


@blp.route("/follow-ups/")
class FollowUps(MethodView):
    @blp.arguments(FollowUpListArgs, location="query")
    @blp.response(200, page_schema(FollowUpSchema))
    def get(self, args):
        """The follow-ups list: yours or everyone's in your units, with the page's filters."""
        access = current_access()
        see_all = args["who"] == "all" and access.oversees_others()
        stmt = services.follow_ups_query(
            access.enterprise_scope(),
            owner=None if see_all else token_user(),
            status=FollowUpStatus(args["status"]),
            due=args.get("due"),
        )
        return _page(stmt, args)


@blp.route("/enterprises/<int:enterprise_id>/follow-ups")
class EnterpriseFollowUps(MethodView):
    @blp.arguments(EnterpriseFollowUpArgs, location="query")
    @blp.response(200, page_schema(FollowUpSchema))
    def get(self, args, enterprise_id):
        """The enterprise's follow-ups, soonest due first."""
        enterprise = current_access().enterprise_or_abort(enterprise_id)
        stmt = (
            select(FollowUp)
            .options(
                joinedload(FollowUp.owner).options(lazyload(User.units)),
                joinedload(FollowUp.enterprise),
            )
            .where(FollowUp.enterprise_id == enterprise.id, FollowUp.deleted_at.is_(None))
        )
        if args.get("status"):
            stmt = stmt.where(FollowUp.status == FollowUpStatus(args["status"]))
        return _page(stmt, args)


@blp.route("/follow-ups/<int:follow_up_id>")
class FollowUpItem(MethodView):
    @blp.response(200, FollowUpSchema)
    def get(self, follow_up_id):
        """One follow-up; its ETag goes in If-Match to mark it done."""
        follow_up = current_access().record_or_abort(FollowUp, follow_up_id)
        return follow_up, 200, etag_header(follow_up)


@blp.route("/follow-ups/<int:follow_up_id>/done")
class FollowUpDone(MethodView):
    @blp.response(200, FollowUpSchema)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    def post(self, follow_up_id):
        """Mark done (its owner, or anyone who may edit the enterprise's records).

        Done already: nothing changes and the follow-up is answered as it is.
        """
        follow_up = current_access().follow_up_to_complete_or_abort(follow_up_id)
        expected_version(follow_up)
        actor = token_user()
        write(lambda: services.complete_follow_up(follow_up, actor=actor))
        return follow_up, 200, etag_header(follow_up)
