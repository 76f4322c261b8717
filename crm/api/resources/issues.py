"""/api/v1/issues: enterprise issues (诉求); their workflow steps are in ``issue_steps``.

Every write goes through ``crm.issues.services`` / ``crm.issues.workflow`` with the
token's user as actor, so the enterprise's file shows it as a write in the UI would.
"""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from crm.access import Action, current_access
from crm.api.base import checked_first, resource, token_user, write
from crm.api.etag import IF_MATCH_PARAMETER, etag_header, expected_version
from crm.api.pagination import PageArgs, keyset_page, link_header, page_schema
from crm.api.resources.lookups import chosen, derived
from crm.api.schemas import Id, RefSchema
from crm.extensions import db
from crm.issues import services, workflow
from crm.models import (
    EnterpriseIssue,
    IssueCategory,
    IssueStatus,
    OrgUnit,
    User,
    Visit,
)

blp = resource("issues", "", "Enterprise issues (诉求) and their workflow.")

CATEGORIES = [category.value for category in IssueCategory]
NOTE = ma.validate.Length(max=workflow.NOTE_LENGTH)
STEP_ACTIONS = [*workflow.ACTIONS, "callback", "reassign"]


class StepSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    from_status = ma.fields.String(dump_only=True)
    to_status = ma.fields.String(dump_only=True)
    at = ma.fields.DateTime(dump_only=True)
    due_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    late = ma.fields.Boolean(dump_only=True)
    actor = ma.fields.Nested(RefSchema, dump_only=True, allow_none=True)
    note = ma.fields.String(dump_only=True, allow_none=True)
    satisfaction = ma.fields.Integer(dump_only=True, allow_none=True)


class EscalationSchema(ma.Schema):
    level = ma.fields.Integer(dump_only=True)
    unit = ma.fields.Nested(RefSchema, dump_only=True, allow_none=True)
    reason = ma.fields.String(dump_only=True, metadata={"description": "overdue or reopened"})
    occasion_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    at = ma.fields.DateTime(dump_only=True)


class IssueSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    enterprise = ma.fields.Nested(RefSchema, dump_only=True)
    visit_id = ma.fields.Integer(dump_only=True, allow_none=True)
    category = ma.fields.String(validate=ma.validate.OneOf(CATEGORIES))
    title = ma.fields.String(validate=ma.validate.Length(min=1, max=300))
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=20000))
    due_date = ma.fields.Date(allow_none=True)
    status = ma.fields.String(
        dump_only=True, metadata={"enum": [status.value for status in IssueStatus]}
    )
    assignee = ma.fields.Nested(RefSchema, dump_only=True, allow_none=True)
    unit = ma.fields.Nested(RefSchema, dump_only=True, allow_none=True)
    overdue = derived(ma.fields.Boolean, services.is_overdue)
    step_due_at = ma.fields.DateTime(
        dump_only=True, allow_none=True, metadata={"description": "deadline of the next step"}
    )
    step_overdue = derived(ma.fields.Boolean, services.step_overdue)
    accepted_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    resolved_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    closed_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    satisfaction = ma.fields.Integer(dump_only=True, allow_none=True)
    reopened_count = ma.fields.Integer(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)
    version = ma.fields.Integer(dump_only=True)


class IssueDetailSchema(IssueSchema):
    steps = derived(ma.fields.List, workflow.steps, ma.fields.Nested(StepSchema))
    escalations = derived(ma.fields.List, services.escalations, ma.fields.Nested(EscalationSchema))
    allowed_actions = derived(
        ma.fields.List,
        lambda issue: [action for action in STEP_ACTIONS if workflow.possible_now(issue, action)],
        ma.fields.String(),
        metadata={"description": "the steps the issue's status allows now"},
    )


class IssueWriteSchema(IssueSchema):
    assignee_id = Id(allow_none=True, load_only=True)
    unit_id = Id(allow_none=True, load_only=True, metadata={"description": "responsible unit"})


class IssueCreateSchema(IssueWriteSchema):
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(CATEGORIES))
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    visit_id = Id(allow_none=True, load_only=True, metadata={"description": "logged during"})


class IssueListArgs(PageArgs):
    status = ma.fields.String(
        validate=ma.validate.OneOf(["open", *(status.value for status in IssueStatus)]),
        metadata={"description": "a status, or open (new, accepted or in progress)"},
    )
    category = ma.fields.String(validate=ma.validate.OneOf(CATEGORIES))
    overdue = ma.fields.Boolean(metadata={"description": "open and past its due date"})
    step_due = ma.fields.String(
        validate=ma.validate.OneOf(["overdue", "week", "escalated"]),
        metadata={"description": "the current step's deadline: passed, due this week, escalated"},
    )
    unit_id = Id(metadata={"description": "responsible unit, or a unit below it"})
    assignee_id = Id()


# -- helpers ---------------------------------------------------------------------------------


def issue_or_abort(issue_id: int, action: Action = Action.READ) -> EnterpriseIssue:
    return current_access().record_or_abort(EnterpriseIssue, issue_id, action)


def assignee_or_422(raw_id, current: User | None, field: str = "assignee_id") -> User | None:
    """An active user (as the form offers), or the one already assigned."""
    return chosen(User, raw_id, field, lambda user: user == current or user.active)


def unit_or_422(raw_id, current: OrgUnit | None, field: str = "unit_id") -> OrgUnit | None:
    """One of the caller's active units (as the form offers), or the one already set."""

    def offered(unit: OrgUnit) -> bool:
        mine = current_access().units().where(OrgUnit.id == unit.id)
        return db.session.execute(mine).first() is not None

    return chosen(OrgUnit, raw_id, field, lambda unit: unit == current or offered(unit))


def _fields(data: dict, issue: EnterpriseIssue | None) -> dict:
    """The body in the service's words; for a PATCH, what is absent stays as it is."""
    current = issue or EnterpriseIssue()
    return {
        "category": data.get("category", current.category),
        "title": data.get("title", current.title),
        "description": data.get("description", current.description),
        "due_date": data.get("due_date", current.due_date),
        "assignee": assignee_or_422(data["assignee_id"], current.assignee)
        if "assignee_id" in data
        else current.assignee,
        "unit": unit_or_422(data["unit_id"], current.unit) if "unit_id" in data else current.unit,
    }


def _list(args: dict, *conditions):
    stmt = services.issues_query(
        current_access().enterprise_scope(),
        status=args.get("status"),
        category=args.get("category"),
        overdue_only=bool(args.get("overdue")),
        step_due=args.get("step_due"),
        assignee_id=args.get("assignee_id"),
        unit_id=args.get("unit_id"),
    ).order_by(None)
    page = keyset_page(
        stmt.where(*conditions),
        [EnterpriseIssue.id],
        cursor=args.get("cursor"),
        limit=args["limit"],
        key_of=lambda issue: (issue.id,),
    )
    return {"items": page.items, "next_cursor": page.next_cursor}, 200, link_header(page)


# -- routes ----------------------------------------------------------------------------------
@blp.route("/issues/")
class Issues(MethodView):
    @blp.arguments(IssueListArgs, location="query")
    @blp.response(200, page_schema(IssueSchema))
    def get(self, args):
        """Issues of the enterprises in your units, oldest first, with the UI list's filters."""
        return _list(args)


@blp.route("/enterprises/<int:enterprise_id>/issues")
class EnterpriseIssues(MethodView):
    @blp.arguments(IssueListArgs, location="query")
    @blp.response(200, page_schema(IssueSchema))
    def get(self, args, enterprise_id):
        """One enterprise's issues, oldest first."""
        enterprise = current_access().enterprise_or_abort(enterprise_id)
        return _list(args, EnterpriseIssue.enterprise_id == enterprise.id)

    @checked_first(
        lambda enterprise_id: current_access().enterprise_or_abort(enterprise_id, Action.EDIT)
    )
    @blp.arguments(IssueCreateSchema)
    @blp.response(201, IssueDetailSchema)
    def post(self, data, enterprise_id):
        """Log an issue; its first deadline (respond) comes from the category's rule."""
        access = current_access()
        enterprise = access.enterprise_or_abort(enterprise_id, Action.EDIT)
        visit = chosen(
            Visit,
            data.get("visit_id"),
            "visit_id",
            lambda v: v.deleted_at is None and v.enterprise_id == enterprise.id,
        )
        fields = _fields(data, None)
        actor = token_user()
        issue = write(lambda: services.create_issue(enterprise, actor=actor, visit=visit, **fields))
        return issue, 201, etag_header(issue)


@blp.route("/issues/<int:issue_id>")
class IssueItem(MethodView):
    @blp.response(200, IssueDetailSchema)
    def get(self, issue_id):
        """One issue with its steps and escalations; its ETag goes in If-Match to change it."""
        issue = issue_or_abort(issue_id)
        return issue, 200, etag_header(issue)

    @checked_first(lambda issue_id: issue_or_abort(issue_id, Action.EDIT))
    @blp.arguments(IssueWriteSchema(partial=True))
    @blp.response(200, IssueDetailSchema)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    def patch(self, data, issue_id):
        """Change the fields sent (the workflow moves by steps, not here)."""
        issue = issue_or_abort(issue_id, Action.EDIT)
        version = expected_version(issue)
        fields = _fields(data, issue)
        actor = token_user()
        write(lambda: services.update_issue(issue, actor=actor, expected_version=version, **fields))
        return issue, 200, etag_header(issue)
